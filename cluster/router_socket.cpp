#include "cluster/router_socket.hpp"

namespace cluster {

twin::expected<std::string, std::string> bind_router(zmq::context_t& context, zmq::socket_t& socket,
                                                     const router_socket_options& options,
                                                     std::string_view what) {
  try {
    socket = zmq::socket_t(context, zmq::socket_type::router);
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options.message_bytes_max));
    socket.bind(options.endpoint);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    socket.close();
    return twin::unexpected{std::string(what) + " cannot bind " + options.endpoint + ": " +
                            e.what()};
  }
}

}  // namespace cluster

@0x856a0a9b555818e1;
# Queries about the live state of the twin, and their replies.
#
# Compatibility rule: fields are never renumbered, retyped or removed; new fields only ever get
# new ordinals. protocolVersion is field @0 of both messages so any version can read it.
# Sensor kinds, severities and reject reasons travel as their twin enum's number (append only).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("citytwin::schema");

struct WindowStats {
  count @0 :UInt64;
  mean @1 :Float64;
  min @2 :Float64;
  max @3 :Float64;
}

struct KindStats {
  kind @0 :UInt8;  # twin::sensor_kind
  sensors @1 :UInt32;
  last1m @2 :WindowStats;
  last15m @3 :WindowStats;
  last1h @4 :WindowStats;
}

struct Indicators {
  congestionIndex @0 :Float64;
  meanSpeedKmh @1 :Float64;
  pm25UgM3 @2 :Float64;
  no2UgM3 @3 :Float64;
  co2Ppm @4 :Float64;
  noiseDb @5 :Float64;
  crowding @6 :Float64;
  visitors @7 :Float64;
  wasteFillPct @8 :Float64;
  binsFull @9 :UInt32;
  staleSensors @10 :UInt32;
  activeAlerts @11 :UInt32;
}

struct LinkState {
  link @0 :UInt32;
  key @1 :Text;
  speedKmh @2 :Float64;
  flowVehH @3 :Float64;
  occupancyPct @4 :Float64;
  timeMs @5 :Int64;
}

struct Alert {
  rule @0 :Text;
  district @1 :UInt32;
  kind @2 :UInt8;   # twin::sensor_kind
  level @3 :UInt8;  # twin::severity
  value @4 :Float64;
  threshold @5 :Float64;
  sinceMs @6 :Int64;
  message @7 :Text;
}

struct DistrictView {
  id @0 :UInt32;
  key @1 :Text;
  name @2 :Text;
  asOfMs @3 :Int64;
  population @4 :Float64;
  areaKm2 @5 :Float64;
  readingsApplied @6 :UInt64;
  rejected @7 :List(UInt64);  # indexed by twin::reject_reason
  sensors @8 :UInt32;
  sensorsReporting @9 :UInt32;
  indicators @10 :Indicators;
  kinds @11 :List(KindStats);
  links @12 :List(LinkState);
  alerts @13 :List(Alert);
}

struct SensorView {
  id @0 :UInt32;
  key @1 :Text;
  kind @2 :UInt8;  # twin::sensor_kind
  district @3 :UInt32;
  districtKey @4 :Text;
  hasValue @5 :Bool;
  value @6 :Float64;
  timeMs @7 :Int64;
  readings @8 :UInt64;
}

struct CityView {
  name @0 :Text;
  asOfMs @1 :Int64;
  readingsApplied @2 :UInt64;
  rejected @3 :List(UInt64);  # indexed by twin::reject_reason
  districts @4 :List(DistrictView);
}

# A node's view of its cluster (README, "Running a cluster"): asked with QueryRequest.cluster.
struct ClusterMember {
  id @0 :Text;
  incarnation @1 :Text;  # decimal; empty for a member known only from the placement
  state @2 :Text;        # joining, up, leaving, down
  zone @3 :Text;
  ingest @4 :Text;
  query @5 :Text;
  metrics @6 :Text;
  owns @7 :UInt32;
  replicates @8 :UInt32;
  city @9 :Text;
  fingerprint @10 :Text;
  startedMs @11 :Int64;  # wall-clock start of this incarnation
}

struct ClusterDistrict {
  district @0 :Text;  # the district's key
  owner @1 :Text;     # empty: unplaced
  replicas @2 :List(Text);
  index @3 :UInt32;   # the district's place in the city
}

struct ClusterStatus {
  alone @0 :Bool;  # the node runs without a cluster: only `node` is set
  node @1 :Text;   # the node that answered
  cluster @2 :Text;
  store @3 :Text;
  storeReachable @4 :Bool;
  revision @5 :Int64;
  epoch @6 :Int64;
  coordinator @7 :Text;
  term @8 :Int64;
  replicationFactor @9 :UInt32;
  members @10 :List(ClusterMember);
  districts @11 :List(ClusterDistrict);
}

struct QueryRequest {
  protocolVersion @0 :UInt16;
  # Chosen by the client and echoed in the reply, so a late reply to an abandoned request is
  # recognised and dropped.
  requestId @1 :UInt64;
  union {
    city @2 :Void;
    district @3 :Text;  # district key
    sensor @4 :Text;    # sensor key or wire id
    cluster @5 :Void;   # the answering node's view of its cluster
  }
}

struct QueryReply {
  protocolVersion @0 :UInt16;
  requestId @1 :UInt64;
  union {
    city @2 :CityView;
    district @3 :DistrictView;
    sensor @4 :SensorView;
    error @5 :Text;
    cluster @6 :ClusterStatus;
  }
}

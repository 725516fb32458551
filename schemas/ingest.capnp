@0xd7b95e832119a644;
# The ingest protocol: sensor gateways send ReadingBatch frames, the node answers each with a
# BatchAck.
#
# Compatibility rule: fields are never renumbered, retyped or removed; new fields only ever get
# new ordinals. protocolVersion is field @0 and the batch key fields keep their ordinals forever,
# so a node of any version can read them and refuse a batch it does not speak by name.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("citytwin::schema");

struct Reading {
  sensor @0 :UInt32;  # the sensor's wire id (twin::sensor_id)
  timeMs @1 :Int64;   # milliseconds since the Unix epoch, UTC
  value @2 :Float64;  # in the unit of the sensor's kind; NaN travels as data
}

struct ReadingBatch {
  protocolVersion @0 :UInt16;
  gateway @1 :UInt64;
  session @2 :UInt64;
  sequence @3 :UInt64;
  readings @4 :List(Reading);
  # The city the gateway sends for (README, "The city handshake"). A fingerprint of 0 names no
  # city: the batch is taken by any node (older gateways send neither field).
  city @5 :Text;
  cityFingerprint @6 :UInt64;
}

# Same order as twin::ack_status: append only.
enum AckStatus {
  applied @0;
  duplicate @1;
  overloaded @2;
  malformed @3;
  wrongVersion @4;
  stopping @5;            # the node is shutting down: nothing applied, resend elsewhere or later
  wrongCity @6;           # the batch names another city: nothing applied
  storageUnavailable @7;  # the node could not make the batch durable: nothing applied
}

struct BatchAck {
  protocolVersion @0 :UInt16;
  gateway @1 :UInt64;
  session @2 :UInt64;
  sequence @3 :UInt64;
  status @4 :AckStatus;
  accepted @5 :UInt32;
  # Rejected readings per reason, indexed by twin::reject_reason (append only). A shorter list
  # from an older node means zero for the missing reasons.
  rejected @6 :List(UInt32);
  # Unacked batches the gateway may have in flight after this ack.
  credit @7 :UInt32;
  message @8 :Text;
  # The node's city, on every ack.
  city @9 :Text;
  cityFingerprint @10 :UInt64;
}

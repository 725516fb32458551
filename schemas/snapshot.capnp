@0xf24b1782bda8e11d;
# A node's snapshot file: the live state of every district after the log up to an LSN
# (docs/STORAGE.md, "Snapshots"). The file is a 24-byte header, then one flat message of Snapshot.
#
# Compatibility rule: fields are never renumbered, retyped or removed; new fields only ever get
# new ordinals. A change that an older reader would misread raises formatVersion instead.
#
# Doubles are stored as Float64, bit for bit: a restored state sums on from exactly the same
# values. Times are milliseconds since the Unix epoch, UTC.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("citytwin::schema");

struct Snapshot {
  formatVersion @0 :UInt32;  # the header's, again
  cityName @1 :Text;
  cityFingerprint @2 :UInt64;  # twin::city_fingerprint
  lsn @3 :UInt64;              # every log record with an LSN <= lsn is in the snapshot
  takenMs @4 :Int64;           # wall time when it was taken
  districts @5 :List(DistrictImage);  # by district id
  hasRouter @6 :Bool;
  router @7 :RouterImage;
}

struct RouterImage {
  partless @0 :BatchDedupImage;  # keys of batches with no reading of a known sensor
  unknownSensorReadings @1 :UInt64;
}

struct DistrictImage {
  id @0 :UInt32;
  key @1 :Text;
  sensors @2 :List(SensorImage);  # sensors with any state, by ascending id
  links @3 :List(LinkImage);      # links with a traffic reading, by ascending id
  kinds @4 :List(KindImage);      # every kind the district has sensors of, ascending
  rules @5 :List(RuleImage);      # the city's rules that apply to the district, in its order
  dedup @6 :BatchDedupImage;
  kindsToEvaluate @7 :UInt32;     # bit per twin::sensor_kind
  evaluatedAt @8 :Int64;
  alertsVersion @9 :UInt64;
  readingsApplied @10 :UInt64;
  lateReadingsApplied @11 :UInt64;
  rejected @12 :List(UInt64);     # by twin::reject_reason
}

struct SensorImage {
  id @0 :UInt32;
  hasValue @1 :Bool;
  value @2 :Float64;
  timeMs @3 :Int64;
  readings @4 :UInt64;
  # The times remembered for deduplication: timesBase + each offset, ascending.
  timesBase @5 :Int64;
  timeOffsets @6 :List(UInt32);
  completeFrom @7 :Int64;  # times below it are not all remembered
}

struct LinkImage {
  link @0 :UInt32;
  speedKmh @1 :Float64;
  flowVehH @2 :Float64;
  occupancyPct @3 :Float64;
  speedTime @4 :Int64;
  flowTime @5 :Int64;
  occupancyTime @6 :Int64;
}

struct KindImage {
  kind @0 :UInt8;  # twin::sensor_kind
  fine @1 :WindowImage;
  coarse @2 :WindowImage;
}

struct WindowImage {
  bucketMs @0 :Int64;
  bucketsMax @1 :UInt32;
  head @2 :Int64;
  empty @3 :Bool;
  dropped @4 :UInt64;
  buckets @5 :List(Bucket);  # the buckets still in the ring, oldest first
}

struct Bucket {
  index @0 :Int64;
  count @1 :UInt32;
  sum @2 :Float64;
  min @3 :Float64;
  max @4 :Float64;
  east @5 :Float64;   # circular kinds: sum of the sines of the values
  north @6 :Float64;  # and of the cosines
}

struct RuleImage {
  key @0 :Text;
  firing @1 :Bool;
  since @2 :Int64;
  value @3 :Float64;
}

struct BatchDedupImage {
  windowBatchesMax @0 :UInt32;
  sessionsMax @1 :UInt32;
  clock @2 :UInt64;
  sessionsEvicted @3 :UInt64;
  belowWindow @4 :UInt64;
  sessions @5 :List(DedupSession);
}

struct DedupSession {
  gateway @0 :UInt64;
  session @1 :UInt64;
  base @2 :UInt64;
  lastUsed @3 :UInt64;
  bits @4 :List(UInt64);
}

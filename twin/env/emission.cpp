#include "twin/env/emission.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "twin/base/check.hpp"

namespace twin::env {

namespace {

// ---------------------------------------------------------------------------------------------
// Curve shapes of the Guidebook, V in km/h, result in g/km.
enum class shape : std::uint8_t {
  none,               // no emission
  constant,           // p0
  rational,           // "equation 1": (p0 + p2 V + p4 V^2 + p5 / V) / (1 + p1 V + p3 V^2)
  polynomial5,        // p0 V^5 + p1 V^4 + p2 V^3 + p3 V^2 + p4 V + p5
  logistic,           // p0 + p1 / (1 + exp(-p2 + p3 ln V + p4 V)) (heavy-duty annex function 10)
  quadratic,          // p0 V^2 + p1 V + p2
  power_exponential,  // p0 p1^V V^p2 (heavy-duty annex function 0)
  inverse_quadratic,  // 1 / (p0 V^2 + p1 V + p2) (heavy-duty annex function 5)
  cubic,              // p0 V^3 + p1 V^2 + p2 V + p3 (heavy-duty annex function 14)
  power_sum,          // p0 V^p1 + p2 V^p3 (heavy-duty annex function 1; light-duty equation 9)
  exp_log,            // exp(p0 + p1 / V + p2 ln V) (heavy-duty annex function 13)
  stretched_exp,      // p0 - p1 exp(-p2 V^p3) (heavy-duty annex function 8)
  single_equation,    // (p0 V^2 + p1 V + p2 + p3 / V) / (p4 V^2 + p5 V + p6) (2016/2019 annexes)
};

struct curve {
  shape form = shape::none;
  std::array<double, 7> p{};
  double scale = 1.0;  // a documented multiplier on the published curve (1 for the curve itself)
};

double evaluate(const curve& c, double v) {
  const auto& p = c.p;
  double value = 0;
  switch (c.form) {
    case shape::none:
      return 0;
    case shape::constant:
      value = p[0];
      break;
    case shape::rational:
      value = (p[0] + p[2] * v + p[4] * v * v + p[5] / v) / (1 + p[1] * v + p[3] * v * v);
      break;
    case shape::polynomial5:
      value = ((((p[0] * v + p[1]) * v + p[2]) * v + p[3]) * v + p[4]) * v + p[5];
      break;
    case shape::logistic:
      value = p[0] + p[1] / (1 + std::exp(-p[2] + p[3] * std::log(v) + p[4] * v));
      break;
    case shape::quadratic:
      value = (p[0] * v + p[1]) * v + p[2];
      break;
    case shape::power_exponential:
      value = p[0] * std::pow(p[1], v) * std::pow(v, p[2]);
      break;
    case shape::inverse_quadratic:
      value = 1.0 / ((p[0] * v + p[1]) * v + p[2]);
      break;
    case shape::cubic:
      value = ((p[0] * v + p[1]) * v + p[2]) * v + p[3];
      break;
    case shape::power_sum:
      value = p[0] * std::pow(v, p[1]) + p[2] * std::pow(v, p[3]);
      break;
    case shape::exp_log:
      value = std::exp(p[0] + p[1] / v + p[2] * std::log(v));
      break;
    case shape::stretched_exp:
      value = p[0] - p[1] * std::exp(-p[2] * std::pow(v, p[3]));
      break;
    case shape::single_equation:
      value = (p[0] * v * v + p[1] * v + p[2] + p[3] / v) / (p[4] * v * v + p[5] * v + p[6]);
      break;
  }
  // A fitted curve can dip below zero at the edge of its range; an emission cannot.
  return std::max(0.0, value * c.scale);
}

curve constant(double g_km) {
  return {shape::constant, {g_km}};
}
curve scaled(curve c, double factor) {
  c.scale *= factor;
  return c;
}

std::size_t level(euro_standard s) {
  return static_cast<std::size_t>(s);
}

// ---------------------------------------------------------------------------------------------
// Passenger cars (and taxis), medium size 1.4-2.0 l: EMEP/EEA Guidebook 2013 (update Sept. 2014),
// 1.A.3.b.i-iv, Table 3-41 (petrol) and Table 3-47 (diesel), equation 1 and its relatives. Euro 5
// and 6 diesel NOx and Euro 6 petrol NOx carry the full precision of the 2014 annex.

// Petrol NOx, Euro 1 .. Euro 6 (pre-Euro uses Euro 1: the table's pre-Euro classes are ECE
// sub-classes this model does not distinguish; Euro 1 is a lower bound for them).
const std::array<curve, 6> petrol_car_nox{{
    {shape::rational, {5.25e-1, 0.0, -1.0e-2, 0.0, 9.36e-5, 0.0}},
    {shape::rational, {2.84e-1, -2.34e-2, -8.69e-3, 4.43e-4, 1.14e-4, 0.0}},
    {shape::rational, {9.29e-2, -1.22e-2, -1.49e-3, 3.97e-5, 6.53e-6, 0.0}},
    {shape::rational, {1.06e-1, 0.0, -1.58e-3, 0.0, 7.1e-6, 0.0}},
    {shape::rational, {1.89e-1, 1.57, 8.15e-2, 2.73e-2, -2.49e-4, -2.68e-1}},
    {shape::rational,
     {4.742321440117320E-01, 5.621746461823470E+00, 3.405777631690800E-01, 8.376288182221080E-02,
      -1.515826702917250E-03, -1.191086695181980E+00}},
}};

// Petrol exhaust PM: Euro 5 and Euro 6 curves of Table 3-41. Euro 1-4 (and pre-Euro, as Euro 1):
// below.
const curve petrol_car_pm_euro_5{shape::polynomial5,
                                 {1.44e-13, 1.16e-10, -3.37e-8, 3.11e-6, -1.25e-4, 3.3e-3}};
const curve petrol_car_pm_euro_6{shape::polynomial5,
                                 {2.31e-13, 1.26e-11, -1.1e-8, 1.23e-6, -6.29e-5, 2.72e-3}};

// Petrol fuel consumption, Euro 1 and later, 1.4-2.0 l (Table 3-41, fuel consumption part).
const curve petrol_car_fc{shape::rational, {1.99e2, 8.92e-2, 3.46e-1, -5.38e-4, 0.0, 0.0}};

// Diesel NOx, Euro 1 .. Euro 6 (Table 3-47, 1.4-2.0 l; Euro 5 and 6 from the 2014 annex).
const std::array<curve, 6> diesel_car_nox{{
    {shape::rational, {3.1, 1.41e-1, -6.18e-3, -5.03e-4, 4.22e-4, 0.0}},
    {shape::rational, {2.4, 7.67e-2, -1.16e-2, -5.0e-4, 1.2e-4, 0.0}},
    {shape::rational, {2.82, 1.98e-1, 6.69e-2, -1.43e-3, -4.63e-4, 0.0}},
    {shape::rational, {1.11, 0.0, -2.02e-2, 0.0, 1.48e-4, 0.0}},
    {shape::rational,
     {9.459517268034710E-01, 4.264271807151270E-03, -1.138146721526560E-02, -5.150463096119010E-05,
      6.671360171030760E-05, 1.923608149372220E+00}},
    {shape::rational,
     {4.358787392163990E-01, 1.004345820980900E-02, -5.386789171147010E-03, -1.023612280214390E-04,
      2.904663713985040E-05, -4.607044137967740E-01}},
}};

// Diesel exhaust PM, Euro 1 .. Euro 6 (Table 3-47; Euro 5 with a particle filter is the logistic
// form, Euro 6 equation 1).
const std::array<curve, 6> diesel_car_pm{{
    {shape::rational, {1.14e-1, 0.0, -2.33e-3, 0.0, 2.26e-5, 0.0}},
    {shape::rational, {8.66e-2, 0.0, -1.42e-3, 0.0, 1.06e-5, 0.0}},
    {shape::rational, {5.15e-2, 0.0, -8.8e-4, 0.0, 8.12e-6, 0.0}},
    {shape::rational, {4.50e-2, 0.0, -5.39e-4, 0.0, 3.48e-6, 0.0}},
    {shape::logistic, {1.17e-3, 1.06e1, -6.48, 5.67e-1, 1.23e-2, 0.0}},
    {shape::rational, {-1.21e18, 1.63e20, 1.79e18, 2.89e19, 1.17e16, 4.09e18}},
}};

// ---------------------------------------------------------------------------------------------
// Rows of the hot emission factor annex of the Guidebook 2016 (update 2017), 1.A.3.b.i-iv, the
// edition whose Euro 6 passenger-car rows read "Euro 6 up to 2016", "2017-2019", "2020+". Every
// row there is one function, (Alpha V^2 + Beta V + Gamma + Delta / V) / (Epsilon V^2 + Zita V +
// Hta) x (1 - RF), carried as single_equation with Alpha .. Hta in order; RF is 0 in every row
// below. Segment "Medium" is the 1.4-2.0 l class of the 2013 tables. The annex gives energy
// consumption (EC, MJ/km), turned here into fuel mass with the net calorific values its own
// constant rows use (petrol 43.774, LPG 46.564, CNG 48.0 MJ/kg: EC = FC / (1000 / NCV)); for
// diesel, which no constant row reveals, the IPCC 2006 value 43.0 MJ/kg (Guidelines vol. 2, table
// 1.2). The transcription read carries no speed range: the rows are used on the 10-130 km/h of the
// car class, over which every one was checked to have a denominator of one sign (no pole).
constexpr double ncv_petrol_mj_kg = 43.774;
constexpr double ncv_diesel_mj_kg = 43.0;
constexpr double ncv_lpg_mj_kg = 46.564;
constexpr double ncv_cng_mj_kg = 48.0;

curve fuel_from_energy(curve energy_mj_km, double ncv_mj_kg) {
  return scaled(energy_mj_km, 1000.0 / ncv_mj_kg);
}

// Petrol exhaust PM of Euro 1-4, speed-independent: the annex gives one constant per driving mode
// (urban 0.00322 g/km for Euro 1 and 2 and 0.00128 for Euro 3 and 4; rural 0.00184 / 0.000836,
// highway 0.0019 / 0.00119). The urban value is carried: the modelled roads are city streets.
constexpr double petrol_car_pm_euro_1_2_urban_g_km = 0.00322;
constexpr double petrol_car_pm_euro_3_4_urban_g_km = 0.00128;

// Diesel energy consumption, "Medium": conventional, Euro 1, Euro 2, and one row shared by Euro 3
// to Euro 6 (technology DPF; the SCR and LNT rows of Euro 6 are the same).
const std::array<curve, 4> diesel_car_ec{{
    {shape::single_equation,
     {0.0091414900384217, -1.36077608857653, 77.3690009401841, 1.52297309312271e-11,
      -2.48386094718775e-16, -6.81417393765553e-16, 15.293677811758}},
    {shape::single_equation,
     {0.00104175364749935, -0.0206281221529099, 15.9129604003612, 1.81829216606398e-10,
      -0.000816765330899403, 0.173401598642991, 2.57654678520054}},
    {shape::single_equation,
     {0.00183059173742394, -0.0902829066077024, 19.7264835081915, 8.76879214605114e-11,
      -0.000548943002377513, 0.161759535612697, 3.24818344604577}},
    {shape::single_equation,
     {-0.00129911063069031, 0.221624989207713, 16.4359146120605, 5.66298857668099e-09,
      -0.00184467928314896, 0.292347275962134, 2.37716402519569}},
}};

// Petrol full hybrids, "Petrol Hybrid", "Medium": the annex has rows from Euro 4 on, one NOx and
// one EC row for every later standard; older hybrids are given them too. The NOx row is negative
// below about 17 km/h, where evaluate() keeps it at 0. The annex has no hybrid PM row: hybrids
// keep the petrol car PM of their standard (assumption).
const curve hybrid_car_nox{
    shape::single_equation,
    {-6.23693045921992e-05, 0.0108482779795935, -0.165875810083388, -3.98241869067559e-11,
     1.00020137226902e-14, -2.04657605971944e-12, 16.5875810087241}};
const curve hybrid_car_ec{
    shape::single_equation,
    {0.0740440903534094, -7.30535339607198, 941.028573053369, -1.13596876200514e-10,
     -1.60577246382733e-15, 2.89994640365996e-13, 565.721885530079}};

// LPG cars, "LPG Bifuel ~ LPG" (driving on LPG), "Medium": NOx Euro 1 .. Euro 6 (Euro 6 repeats
// Euro 5; pre-Euro as Euro 1, as for petrol), one EC row for Euro 1-6, and PM the urban constants
// of the petrol cars (the annex gives the LPG cars the same values).
const std::array<curve, 6> lpg_car_nox{{
    {shape::single_equation,
     {6.91522068098942e-05, -0.0108914725736048, 0.912463368792618, 7.44242265069883e-10,
      2.07421883825317e-14, -9.12225581424628e-12, 1.72880517031549}},
    {shape::single_equation,
     {3.12287575367357e-05, -0.00491852931207082, 0.412063455701237, -8.38957767266903e-12,
      -5.75879482662452e-15, 3.6547066261629e-13, 2.16866371784292}},
    {shape::single_equation,
     {1.83250132932115e-05, -0.00418135831647819, 0.260842824674338, 6.56212692898217e-12,
      0.000111409345755782, -0.0342366251422349, 2.80628074931392}},
    {shape::single_equation,
     {3.85566953442599e-05, -0.00858022234420835, 0.577346261761616, 1.30653078947681e-12,
      2.70176387374201e-17, -1.30766902383137e-13, 5.43052047101584}},
    {shape::single_equation,
     {2.00451124821162e-05, -0.00446074333998162, 0.300154633324468, 3.45162978166723e-10,
      3.18860913317146e-13, -4.13038968373273e-11, 3.76434037147348}},
    {shape::single_equation,
     {2.00451124821162e-05, -0.00446074333998162, 0.300154633324468, 3.45162978166723e-10,
      3.18860913317146e-13, -4.13038968373273e-11, 3.76434037147348}},
}};
const curve lpg_car_ec{
    shape::single_equation,
    {0.00266076270496954, -0.341834097528984, 27.5776967889375, -6.47737228806186e-09,
     -2.44684254914e-13, 2.01912963599293e-11, 7.93639669523039}};

// CNG cars, "CNG Bifuel ~ CNG", "Medium": the annex has rows from Euro 4 on, and they are LPG rows
// for NOx (Euro 4, and Euro 5 for Euro 5-6) and PM (the urban 0.00128 g/km), so CNG cars use the
// LPG NOx and PM; its EC row (the same for Euro 4-6) is carried here. Older CNG cars get this EC
// row and the LPG NOx and PM of their standard (assumption: the annex has no rows for them).
const curve cng_car_ec{
    shape::single_equation,
    {0.000822590587786618, 0.0342590000934355, 16.3564836524711, 6.93140123039572e-12,
     -0.000531071533681381, 0.147280971891826, 2.1500871809034}};

// Lower heating values, MJ/kg (IPCC 2006 Guidelines, vol. 2, table 1.2), for the heavy vehicles
// this model has no gas or petrol rows for: they are taken to need the energy per km of the diesel
// vehicle they replace.
constexpr double lhv_petrol_mj_kg = 44.3;
constexpr double lhv_diesel_mj_kg = 43.0;
constexpr double lhv_lpg_mj_kg = 47.3;
constexpr double lhv_cng_mj_kg = 48.0;

// ---------------------------------------------------------------------------------------------
// Light commercial vehicles < 3.5 t: Guidebook 2013, Table 3-62 (diesel, conventional and Euro 1
// quadratics, 10-110 km/h) and Table 3-63 (reductions of Euro 2, 3, 4 against Euro 1); petrol:
// Table 3-59 (conventional 10-110 km/h, Euro 1 10-120 km/h quadratics) and Table 3-60 (reductions
// of Euro 2, 3, 4 against Euro 1). The van class is clamped to 10-110 km/h, where every row holds.
const curve diesel_van_nox_conventional{shape::quadratic, {81.6e-5, -0.1189, 5.1234}};
const curve diesel_van_nox_euro_1{shape::quadratic, {24.1e-5, -0.03181, 2.0247}};
const curve diesel_van_pm_conventional{shape::quadratic, {1.25e-5, -0.000577, 0.288}};
const curve diesel_van_pm_euro_1{shape::quadratic, {4.5e-5, -0.004885, 0.1932}};
const curve diesel_van_fc_conventional{shape::quadratic, {0.02113, -2.65, 148.91}};
const curve diesel_van_fc_euro_1{shape::quadratic, {0.0198, -2.506, 137.42}};
const curve petrol_van_nox_conventional{shape::quadratic, {0.0, 0.0179, 1.9547}};
const curve petrol_van_nox_euro_1{shape::quadratic, {7.55e-5, -0.009, 0.666}};
const curve petrol_van_fc_conventional{shape::quadratic, {0.0167, -2.649, 161.51}};
const curve petrol_van_fc{shape::quadratic, {0.0195, -3.09, 188.85}};  // Euro 1 and later
// Reductions against Euro 1 for Euro 2, 3, 4 (percent). The tables have one row per standard and
// one column per pollutant (CO, NOx, VOC, PM): diesel Euro 2 0 / 0 / 0 / 0, Euro 3 18 / 16 / 38 /
// 33, Euro 4 35 / 32 / 77 / 65; petrol Euro 2 39 / 66 / 76, Euro 3 48 / 79 / 86, Euro 4 72 / 90 /
// 94 (no PM column).
constexpr std::array<double, 3> diesel_van_nox_reduction_percent{0, 16, 32};
constexpr std::array<double, 3> diesel_van_pm_reduction_percent{0, 33, 65};
constexpr std::array<double, 3> petrol_van_nox_reduction_percent{66, 79, 90};

// Diesel vans Euro 5 and Euro 6: the light-duty annex of the Guidebook 2013 (update Sept. 2014),
// "Light Commercial Vehicles, Diesel < 3.5 t", technologies "LD Euro 5 - 2008 Standards" and
// "LD Euro 6" (the row labelled 6, not 6c: the fleet field does not tell the Euro 6 stages apart,
// and the earlier stage is the higher, conservative one), reduction factor 0, 10-110 km/h. The
// annex names each row's function by number: equation 1 (rational), 9 (power_sum, Alpha V^Beta +
// Gamma V^Delta) and 12 (1 / (Gamma V^2 + Beta V + Alpha), carried here as inverse_quadratic with
// Gamma, Beta, Alpha).
const curve diesel_van_nox_euro_5{
    shape::rational,
    {5.139643105649970E-01, -1.440456154572330E-02, -8.551717819626800E-03, 5.682782083470790E-05,
     4.302581128831590E-05, 3.430407917575060E+00}};
const curve diesel_van_nox_euro_6{
    shape::rational,
    {1.831511832862890E-01, -1.446016950373240E-02, -3.070579627765230E-03, 5.714679044669290E-05,
     1.539090900182640E-05, 1.226777180674000E+00}};
const curve diesel_van_pm_euro_5{
    shape::power_sum,
    {2.793480078330620E-14, 5.052250653970800E+00, 1.547170752519150E-02, -7.044479801084520E-01}};
const curve diesel_van_pm_euro_6{
    shape::inverse_quadratic,
    {-2.035484541160830E-01, 3.142959625140570E+01, 6.348651067043730E+01}};
const curve diesel_van_fc_euro_5{
    shape::power_sum,
    {3.948379762520350E+02, -4.961377412326030E-01, 1.488406854284990E-03, 2.168706034252050E+00}};
const curve diesel_van_fc_euro_6{
    shape::power_sum,
    {1.264542107652150E-03, 2.188496625353530E+00, 3.785609290695320E+02, -4.965202394945130E-01}};

// ---------------------------------------------------------------------------------------------
// Heavy-duty vehicles: the heavy-duty annex (spreadsheet of June 2012) that accompanies chapter
// 1.A.3.b.i-iv of the Guidebook 2013 and holds its Tier 3 coefficients for lorries and buses.
// Each row is one segment, technology, pollutant, load (0 / 50 / 100 %) and road slope
// (-6 .. +6 %) with a fitted function of V and its speed range. This model takes 50 % load and
// 0 % slope throughout.
//
// Lorries (heavy_goods) are the diesel "Rigid 14 - 20 t" segment, V in 12..86 km/h. In a dense
// city such as Macau, goods are distributed through narrow streets with tight turns where
// articulated combinations hardly circulate (they keep to the port and border routes): a two- or
// three-axle rigid lorry of 14-20 t gross weight is the typical urban heavy vehicle. Technologies:
// conventional ("80ties"), Euro I-III, Euro IV "EGR" (the only Euro IV rows of the segment),
// Euro V "SCR" (the majority technology of Euro V lorries) and Euro VI.
// Functions by annex number: 0 = power_exponential, 5 = inverse_quadratic (coefficients given
// here as c, b, a), 10 = logistic, 14 = cubic.
struct heavy_row {
  curve nox;
  curve pm;
  curve fc;
};
// pre-Euro (conventional), Euro I, II, III, IV, V, VI
const std::array<heavy_row, 7> rigid_14_20_t{{
    {{shape::power_exponential, {113.6639697696, 1.0088247609, -0.7361031424}},
     {shape::power_exponential, {12.7332442364, 1.0076162162, -0.9951959278}},
     {shape::power_exponential, {4565.4308330642, 1.0098480476, -0.9006741547}}},
    {{shape::logistic, {5.2857978622, 150.6892559014, -1.3988378316, 0.3972398319, 0.0523821713}},
     {shape::power_exponential, {7.4872449727, 1.006798882, -0.973617507}},
     {shape::power_exponential, {3208.6638554626, 1.0101619181, -0.862635876}}},
    {{shape::power_exponential, {80.1725718859, 1.008147368, -0.7473065096}},
     {shape::cubic, {-5.45672630038079E-007, 0.0001367499, -0.010191173, 0.3415809286}},
     {shape::power_exponential, {2688.5926820091, 1.009725403, -0.8201345197}}},
    {{shape::logistic, {3.556811354, 170.8147556332, -0.2348595746, 1.0614484084, 0.004800646}},
     {shape::power_exponential, {3.6840470564, 1.0057299595, -0.9509254846}},
     {shape::power_exponential, {2964.6431344393, 1.0093448329, -0.8291148954}}},
    {{shape::logistic, {2.5672718054, 36.8396999671, 0.9430615391, 1.1540978582, -0.0002484625}},
     {shape::inverse_quadratic, {-0.0059729985, 0.941913913, 6.111983835}},
     {shape::power_exponential, {2067.082093838, 1.0088685811, -0.7423059124}}},
    {{shape::logistic, {-5.4537349609, 141.7527624873, -0.6580649779, 0.4803744205, 0.0023723269}},
     {shape::power_exponential, {1.655809919, 1.0078779639, -1.1893037875}},
     {shape::power_exponential, {2169.1211952522, 1.008341703, -0.7542489205}}},
    {{shape::power_exponential, {28.8606129647, 0.97939027, -0.8434920503}},
     {shape::inverse_quadratic, {-0.0588829599, 9.4040616518, 55.0512698807}},
     {shape::power_exponential, {2156.5530357824, 1.0086369691, -0.7525795586}}},
}};

// Urban buses: the segment "Urban Buses Standard 15 - 18 t" of the same annex, diesel, 50 % load,
// 0 % slope, V in 11..86 km/h: the annex's standard single-deck city bus (Macau also runs midi
// buses on its narrowest streets; the annex's "Midi <= 15 t" rows are not carried). Technologies:
// conventional ("80ties"), Euro I-III, Euro IV "EGR" (as for the lorries), Euro V "SCR" (the
// majority technology of Euro V engines) and Euro VI. Functions by annex number as for the
// lorries, plus 1 = power_sum, 8 = stretched_exp and 13 = exp_log.
// pre-Euro (conventional), Euro I, II, III, IV, V, VI
const std::array<heavy_row, 7> urban_bus_standard_15_18_t{{
    {{shape::power_exponential, {98.229633742, 1.0040361649, -0.5859544908}},
     {shape::power_exponential, {17.1830331325, 1.0057660653, -1.0106096379}},
     {shape::power_exponential, {3368.1610027306, 1.005780201, -0.7266440262}}},
    {{shape::exp_log, {3.3337196633, 3.4086908485, -0.3582527199}},
     {shape::stretched_exp, {0.2088180608, -1.2705851417, 0.1292444166, 0.8242521092}},
     {shape::power_exponential, {2339.9843911856, 1.0052021756, -0.6611825705}}},
    {{shape::logistic, {3.9093558608, 177.7604445929, -0.4054574103, 0.8566934952, 0.0007123748}},
     {shape::power_exponential, {2.1548948677, 1.0109493626, -0.8273107369}},
     {shape::power_exponential, {2094.5832428446, 1.0054461034, -0.6399174262}}},
    {{shape::power_sum, {574.6479678867, -1.9594665035, 51.998882069, -0.5618018982}},
     {shape::power_exponential, {2.1586228542, 1.0064739686, -0.7972643813}},
     {shape::power_exponential, {2238.2653229456, 1.0054825984, -0.6459256707}}},
    {{shape::exp_log, {3.3387061508, 1.0234647921, -0.4930243005}},
     {shape::inverse_quadratic, {-0.0033270798, 0.6410105795, 6.6497815788}},
     {shape::cubic, {-0.0012580991, 0.2305024062, -14.580441972, 540.3340511012}}},
    {{shape::cubic, {-4.72445547170923E-005, 0.0103976883, -0.7647709955, 20.9456803665}},
     {shape::cubic, {-4.77068120662544E-007, 8.81364602048913E-005, -0.0054553037, 0.1389852511}},
     {shape::cubic, {-0.001219244, 0.2252509667, -14.3432852256, 528.2235174702}}},
    {{shape::power_exponential, {102.3055245206, 1.0123083619, -1.7008734741}},
     {shape::inverse_quadratic, {-0.0340585919, 6.3500264227, 63.3357950469}},
     {shape::cubic, {-0.001272813, 0.2352516408, -15.0002116319, 549.5453027524}}},
}};

// CNG urban buses: the Guidebook 2019 hot emission factor annex (Appendix 4 of 1.A.3.b.i-iv; the
// 2016 annex has the same rows), segment "Urban CNG Buses", 0 % slope. Euro I, II and III are
// constants (valid 6-75 km/h): NOx 16.5 / 15 / 10 g/km, PM 0.02 / 0.01 / 0.01 g/km and EC 555 /
// 515 / 455 divided by 20.8333 (that is FC 555 / 515 / 455 g/km at 48 MJ/kg); the EEV rows are
// single_equation, 11-86 km/h. The annex's only later CNG standard is EEV: Euro IV-VI CNG buses
// use it (assumption); pre-Euro uses Euro I. Fuel from EC at 48 MJ/kg, the value the constant
// rows imply.
const std::array<heavy_row, 4> urban_cng_bus{{
    {constant(16.5), constant(0.02), constant(555.0)},
    {constant(15.0), constant(0.01), constant(515.0)},
    {constant(10.0), constant(0.01), constant(455.0)},
    {{shape::single_equation,
      {0.00335581295550362, 1.01967944213972, 1.53109837593671, -59.7733124681003,
       0.00594115413805745, 0.222318774051069, -1.86161421670294}},
     {shape::single_equation,
      {2.99508607917677e-05, 0.00432140568014104, 1.04889571499637, 4.09826315848808,
       -0.011483064903324, 3.52203270045111, 54.1727457325872}},
     scaled({shape::single_equation,
             {-0.000186970637762985, 0.0687149794113224, 5.7022140873118, 19.4144566985669,
              -4.883540497789e-05, 0.0133456134788077, 0.153469463592991}},
            1000.0 / ncv_cng_mj_kg)},
}};

// ---------------------------------------------------------------------------------------------
// Two-wheelers. Mopeds < 50 cm3, 4-stroke: Guidebook 2013, Tables 3-67 and 3-68 (speed-independent;
// conventional, Euro 1, Euro 2, Euro 3 and later).
constexpr std::array<double, 4> moped_nox{0.056, 0.22, 0.17, 0.17};
constexpr std::array<double, 4> moped_pm{0.176, 0.040, 0.007, 0.004};
constexpr std::array<double, 4> moped_fc{25.0, 20.0, 20.0, 20.0};

// Motorcycles > 50 cm3: the Guidebook 2013 (update Sept. 2014) motorcycle coefficients, segment
// "4-Stroke < 250" (4-stroke, 50-250 cm3), conventional and Euro 1-3. Macau's motorcycles are
// mostly small four-stroke scooters (typically 100-150 cm3) ridden on short urban trips, which is
// this segment (a judgement of this model, not a registry statistic); two-stroke engines have
// left new sales under the emission limits. The 2-stroke and larger 4-stroke rows are not
// carried. The function is the fifth-degree polynomial a5 V^5 + a4 V^4 + a3 V^3 + a2 V^2 + a1 V
// + a0 (polynomial5, coefficients a5 .. a0). The NOx and fuel rows hold for 0-100 km/h and the PM
// rows (constants) for 10-100 km/h: the class is clamped to 10-100 km/h, where every row holds.
// Euro 4 and Euro 5 (euro_6 read as Euro 5): NOx rows of the Guidebook 2016 annex (see the
// passenger cars), "L-Category", "Motorcycles 4-stroke <250 cm3", single_equation, checked to have
// no pole over 10-100 km/h; PM the annex constant 0.005 g/km (as Euro 2 and 3). The annex's EC row
// for Euro 4 and 5 has a pole near 11 km/h, inside the class range, so it is not carried: Euro 4
// and 5 keep the Euro 3 fuel curve (assumption).
// conventional, Euro 1, 2, 3
const std::array<curve, 4> motorcycle_nox{{
    {shape::polynomial5, {-4.60E-10, 1.37E-07, -1.54E-05, 8.23E-04, -1.70E-02, 3.48E-01}},
    {shape::polynomial5, {-7.08E-10, 2.10E-07, -2.35E-05, 1.24E-03, -2.63E-02, 4.37E-01}},
    {shape::polynomial5, {-3.89E-10, 1.14E-07, -1.28E-05, 7.34E-04, -1.90E-02, 4.01E-01}},
    {shape::polynomial5, {-1.95E-10, 6.01E-08, -6.86E-06, 4.08E-04, -1.09E-02, 3.19E-01}},
}};
constexpr std::array<double, 4> motorcycle_pm_g_km{0.02, 0.02, 0.005, 0.005};
// The Euro 3 fuel row repeats the Euro 2 one.
const std::array<curve, 4> motorcycle_fc{{
    {shape::polynomial5, {-4.68E-08, 1.50E-05, -1.89E-03, 1.21E-01, -3.86E+00, 7.57E+01}},
    {shape::polynomial5, {-3.84E-08, 1.23E-05, -1.55E-03, 9.91E-02, -3.17E+00, 6.23E+01}},
    {shape::polynomial5, {-3.42E-08, 1.11E-05, -1.43E-03, 9.27E-02, -3.05E+00, 5.93E+01}},
    {shape::polynomial5, {-3.42E-08, 1.11E-05, -1.43E-03, 9.27E-02, -3.05E+00, 5.93E+01}},
}};
const std::array<curve, 2> motorcycle_nox_euro_4_5{{
    {shape::single_equation,
     {0.394335709212049, -10.4723638241026, 101.662231775029, -320.414349314855, 10.1376388589922,
      -195.758135137186, 1095.25097016101}},
    {shape::single_equation,
     {0.0422560267667027, -1.07215776110695, 11.7277401484754, -44.3650642741551, 1.5459403029097,
      -23.0824231782987, 117.71233852748}},
}};
constexpr double motorcycle_pm_euro_4_5_g_km = 0.005;

// ---------------------------------------------------------------------------------------------
struct vehicle_curves {
  curve nox;
  curve pm;
  curve fc;
  speed_range range;
};

constexpr speed_range car_range{10, 130};
constexpr speed_range van_range{10, 110};
constexpr speed_range bus_range{11, 86};     // the annex rows of the 15-18 t urban bus, 50 %, 0 %
constexpr speed_range lorry_range{12, 86};   // the annex rows of Rigid 14 - 20 t, 50 %, 0 %
constexpr speed_range moped_range{10, 130};  // speed-independent factors
constexpr speed_range motorcycle_range{10, 100};

std::size_t light_index(euro_standard s) {
  // Euro 1 .. Euro 6 -> 0 .. 5; pre-Euro as Euro 1 (see petrol_car_nox).
  return s == euro_standard::pre_euro ? 0 : level(s) - 1;
}

curve petrol_car_pm(euro_standard s) {
  switch (s) {
    case euro_standard::pre_euro:
    case euro_standard::euro_1:
    case euro_standard::euro_2:
      return constant(petrol_car_pm_euro_1_2_urban_g_km);
    case euro_standard::euro_3:
    case euro_standard::euro_4:
      return constant(petrol_car_pm_euro_3_4_urban_g_km);
    case euro_standard::euro_5:
      return petrol_car_pm_euro_5;
    case euro_standard::euro_6:
      return petrol_car_pm_euro_6;
  }
  TWIN_CHECK(false);
  return {};
}

// conventional, Euro 1, Euro 2, Euro 3 and later
const curve& diesel_car_ec_of(euro_standard s) {
  return diesel_car_ec[std::min<std::size_t>(level(s), 3)];
}

vehicle_curves car_curves(fuel f, euro_standard s) {
  std::size_t i = light_index(s);
  switch (f) {
    case fuel::petrol:
      return {petrol_car_nox[i], petrol_car_pm(s), petrol_car_fc, car_range};
    case fuel::hybrid:
      return {hybrid_car_nox, petrol_car_pm(s), fuel_from_energy(hybrid_car_ec, ncv_petrol_mj_kg),
              car_range};
    case fuel::lpg:
      return {lpg_car_nox[i], petrol_car_pm(std::min(s, euro_standard::euro_4)),
              fuel_from_energy(lpg_car_ec, ncv_lpg_mj_kg), car_range};
    case fuel::cng:
      return {lpg_car_nox[i], petrol_car_pm(std::min(s, euro_standard::euro_4)),
              fuel_from_energy(cng_car_ec, ncv_cng_mj_kg), car_range};
    case fuel::diesel:
      return {diesel_car_nox[i], diesel_car_pm[i],
              fuel_from_energy(diesel_car_ec_of(s), ncv_diesel_mj_kg), car_range};
    case fuel::electric:
      return {{}, {}, {}, car_range};
  }
  TWIN_CHECK(false);
  return {};
}

curve reduced(const curve& euro_1, const std::array<double, 3>& percent, euro_standard s) {
  return scaled(euro_1, 1 - percent[level(s) - 2] / 100);
}

vehicle_curves van_curves(fuel f, euro_standard s) {
  if (f == fuel::electric) return {{}, {}, {}, van_range};
  if (f == fuel::petrol) {
    // Euro 5 and 6: no van rows in the 2013 tables; the petrol car NOx and PM curves of the same
    // standard (the later annex gives its smallest petrol vans, N1-I, the car rows too).
    switch (s) {
      case euro_standard::pre_euro:
        return {petrol_van_nox_conventional, petrol_car_pm(s), petrol_van_fc_conventional,
                van_range};
      case euro_standard::euro_1:
        return {petrol_van_nox_euro_1, petrol_car_pm(s), petrol_van_fc, van_range};
      case euro_standard::euro_2:
      case euro_standard::euro_3:
      case euro_standard::euro_4:
        return {reduced(petrol_van_nox_euro_1, petrol_van_nox_reduction_percent, s),
                petrol_car_pm(s), petrol_van_fc, van_range};
      case euro_standard::euro_5:
      case euro_standard::euro_6:
        return {petrol_car_nox[light_index(s)], petrol_car_pm(s), petrol_van_fc, van_range};
    }
  }
  if (f != fuel::diesel) {
    // LPG, CNG and hybrid vans: no van rows; the car curves of the same fuel (assumption).
    auto c = car_curves(f, s);
    c.range = van_range;
    return c;
  }
  switch (s) {
    case euro_standard::pre_euro:
      return {diesel_van_nox_conventional, diesel_van_pm_conventional, diesel_van_fc_conventional,
              van_range};
    case euro_standard::euro_1:
      return {diesel_van_nox_euro_1, diesel_van_pm_euro_1, diesel_van_fc_euro_1, van_range};
    case euro_standard::euro_2:
    case euro_standard::euro_3:
    case euro_standard::euro_4:
      return {reduced(diesel_van_nox_euro_1, diesel_van_nox_reduction_percent, s),
              reduced(diesel_van_pm_euro_1, diesel_van_pm_reduction_percent, s),
              diesel_van_fc_euro_1, van_range};
    case euro_standard::euro_5:
      return {diesel_van_nox_euro_5, diesel_van_pm_euro_5, diesel_van_fc_euro_5, van_range};
    case euro_standard::euro_6:
      return {diesel_van_nox_euro_6, diesel_van_pm_euro_6, diesel_van_fc_euro_6, van_range};
  }
  TWIN_CHECK(false);
  return {};
}

vehicle_curves heavy_curves(vehicle_category c, fuel f, euro_standard s) {
  const speed_range range = c == vehicle_category::bus ? bus_range : lorry_range;
  if (f == fuel::electric) return {{}, {}, {}, range};
  std::size_t i = level(s);
  if (c == vehicle_category::bus && f == fuel::cng) {
    // pre-Euro and Euro I, Euro II, Euro III, EEV for Euro IV and later
    const auto& row = urban_cng_bus[std::clamp<std::size_t>(i, 1, 4) - 1];
    return {row.nox, row.pm, row.fc, range};
  }
  // Other gas and petrol heavy vehicles: the diesel curves of the same standard, fuel by energy
  // (assumption: the annexes have no gas lorry rows, and this model no LPG or petrol bus rows).
  double fuel_ratio = 1.0;
  if (f == fuel::cng) fuel_ratio = lhv_diesel_mj_kg / lhv_cng_mj_kg;
  if (f == fuel::lpg) fuel_ratio = lhv_diesel_mj_kg / lhv_lpg_mj_kg;
  if (f == fuel::petrol || f == fuel::hybrid) fuel_ratio = lhv_diesel_mj_kg / lhv_petrol_mj_kg;
  const auto& row =
      c == vehicle_category::heavy_goods ? rigid_14_20_t[i] : urban_bus_standard_15_18_t[i];
  return {row.nox, row.pm, scaled(row.fc, fuel_ratio), range};
}

vehicle_curves two_wheeler_curves(vehicle_category c, fuel f, euro_standard s) {
  const speed_range range = c == vehicle_category::moped ? moped_range : motorcycle_range;
  if (f == fuel::electric) return {{}, {}, {}, range};
  std::size_t i = std::min<std::size_t>(level(s), 3);  // conventional, Euro 1, 2, 3 and later
  if (c == vehicle_category::moped)
    return {constant(moped_nox[i]), constant(moped_pm[i]), constant(moped_fc[i]), range};
  if (s >= euro_standard::euro_4) {
    std::size_t later = s == euro_standard::euro_4 ? 0 : 1;  // Euro 4, Euro 5 (and 6)
    return {motorcycle_nox_euro_4_5[later], constant(motorcycle_pm_euro_4_5_g_km), motorcycle_fc[3],
            range};
  }
  return {motorcycle_nox[i], constant(motorcycle_pm_g_km[i]), motorcycle_fc[i], range};
}

vehicle_curves curves_of(const fleet_share& v) {
  switch (v.category) {
    case vehicle_category::car:
    case vehicle_category::taxi:
      return car_curves(v.f, v.standard);
    case vehicle_category::light_goods:
      return van_curves(v.f, v.standard);
    case vehicle_category::heavy_goods:
    case vehicle_category::bus:
      return heavy_curves(v.category, v.f, v.standard);
    case vehicle_category::motorcycle:
    case vehicle_category::moped:
      return two_wheeler_curves(v.category, v.f, v.standard);
  }
  TWIN_CHECK(false);
  return {};
}

double clamp_speed(double speed_kmh, speed_range r) {
  TWIN_REQUIRE(std::isfinite(speed_kmh));
  return std::clamp(speed_kmh, r.min_kmh, r.max_kmh);
}

// The fuel a CO2 factor applies to (hybrids burn petrol).
fuel burnt_fuel(fuel f) {
  return f == fuel::hybrid ? fuel::petrol : f;
}

// ---------------------------------------------------------------------------------------------
// Non-exhaust PM2.5 (Guidebook 1.A.3.b.vi-vii): TSP factors per vehicle, g/km, times the PM2.5
// mass fractions (tyre 0.42, brake 0.39, road surface 0.27), speed correction 1 (the Tier 1
// simplification). Heavy vehicles: tyre (axles / 2) x (1.41 + 1.38 x load) x 0.0107 and brake
// 3.13 x (1 + 0.79 x load) x 0.0075 at 50 % load, 2 axles for buses and 3 for lorries.
constexpr double tyre_pm25_fraction = 0.42;
constexpr double brake_pm25_fraction = 0.39;
constexpr double road_pm25_fraction = 0.27;

struct wear_tsp {
  double tyre_g_km;
  double brake_g_km;
  double road_g_km;
};

wear_tsp wear_of(vehicle_category c) {
  constexpr double load = 0.5;
  const double heavy_brake = 3.13 * (1 + 0.79 * load) * 0.0075;
  const double heavy_tyre_per_axle_pair = (1.41 + 1.38 * load) * 0.0107;
  switch (c) {
    case vehicle_category::car:
    case vehicle_category::taxi:
      return {0.0107, 0.0075, 0.0150};
    case vehicle_category::light_goods:
      return {0.0169, 0.0117, 0.0150};
    case vehicle_category::bus:
      return {heavy_tyre_per_axle_pair * 2 / 2, heavy_brake, 0.0760};
    case vehicle_category::heavy_goods:
      return {heavy_tyre_per_axle_pair * 3 / 2, heavy_brake, 0.0760};
    case vehicle_category::motorcycle:
    case vehicle_category::moped:
      return {0.0046, 0.0037, 0.0060};
  }
  TWIN_CHECK(false);
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

speed_range valid_speed_range(const fleet_share& vehicle) {
  return curves_of(vehicle).range;
}

double fuel_factor_g_km(const fleet_share& vehicle, double speed_kmh) {
  auto c = curves_of(vehicle);
  return evaluate(c.fc, clamp_speed(speed_kmh, c.range));
}

double co2_per_g_fuel(fuel f) {
  // CO2 = 44.011 / (12.011 + 1.008 r_HC + 16.000 r_OC) per g of fuel, r_OC = 0; hydrogen to carbon
  // ratios of the Guidebook: petrol 1.80, diesel 1.86, LPG 2.525, natural gas 4.0.
  auto per_g = [](double r_hc) { return 44.011 / (12.011 + 1.008 * r_hc); };
  switch (burnt_fuel(f)) {
    case fuel::petrol:
      return per_g(1.80);
    case fuel::diesel:
      return per_g(1.86);
    case fuel::lpg:
      return per_g(2.525);
    case fuel::cng:
      return per_g(4.0);
    case fuel::hybrid:
    case fuel::electric:
      return 0;
  }
  return 0;
}

per_pollutant exhaust_factor_g_km(const fleet_share& vehicle, double speed_kmh) {
  auto c = curves_of(vehicle);
  double v = clamp_speed(speed_kmh, c.range);
  per_pollutant out{};
  out[index(pollutant::nox)] = evaluate(c.nox, v);
  out[index(pollutant::pm25)] = evaluate(c.pm, v);
  out[index(pollutant::co2)] = evaluate(c.fc, v) * co2_per_g_fuel(vehicle.f);
  return out;
}

per_pollutant non_exhaust_factor_g_km(vehicle_category category) {
  auto w = wear_of(category);
  per_pollutant out{};
  out[index(pollutant::pm25)] = w.tyre_g_km * tyre_pm25_fraction +
                                w.brake_g_km * brake_pm25_fraction +
                                w.road_g_km * road_pm25_fraction;
  return out;
}

fleet_factor fleet_factor_g_km(const fleet_mix& mix, double speed_kmh) {
  fleet_factor out;
  for (const auto& s : mix.shares) {
    if (s.share == 0) continue;
    auto exhaust = exhaust_factor_g_km(s, speed_kmh);
    auto wear = non_exhaust_factor_g_km(s.category);
    for (std::size_t p = 0; p < pollutant_count; ++p)
      out.g_km[p] += s.share * (exhaust[p] + wear[p]);
    out.fuel_g_km += s.share * fuel_factor_g_km(s, speed_kmh);
  }
  return out;
}

link_emission link_emissions(const fleet_mix& mix, double flow_veh_h, double speed_kmh,
                             double length_m) {
  TWIN_REQUIRE_OP(flow_veh_h, >=, 0.0);
  TWIN_REQUIRE_OP(speed_kmh, >=, 0.0);
  TWIN_REQUIRE_OP(length_m, >=, 0.0);
  link_emission out;
  if (flow_veh_h == 0 || length_m == 0) return out;
  auto f = fleet_factor_g_km(mix, speed_kmh);
  // veh/h / 3600 = veh/s; g/km / 1000 = g/m per vehicle.
  const double per_m_s = flow_veh_h / 3600.0 / 1000.0;
  for (std::size_t p = 0; p < pollutant_count; ++p) {
    out.g_m_s[p] = f.g_km[p] * per_m_s;
    out.g_s[p] = out.g_m_s[p] * length_m;
  }
  out.fuel_g_s = f.fuel_g_km * per_m_s * length_m;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Policies

bool vehicle_filter::matches(const fleet_share& v) const {
  if (category && v.category != *category) return false;
  if (f && v.f != *f) return false;
  if (standard_below) {
    if (v.f == fuel::electric) return false;
    if (level(v.standard) >= level(*standard_below)) return false;
  }
  return true;
}

namespace {

// Merges entries of the same kind and renormalises, returning the total before renormalising.
policy_result normalised(const fleet_mix& mix, double total_before) {
  std::map<std::tuple<vehicle_category, fuel, euro_standard>, double> merged;
  std::vector<std::tuple<vehicle_category, fuel, euro_standard>> order;
  for (const auto& s : mix.shares) {
    auto key = std::make_tuple(s.category, s.f, s.standard);
    auto [it, fresh] = merged.emplace(key, 0.0);
    if (fresh) order.push_back(key);
    it->second += s.share;
  }
  double total = 0;
  for (const auto& [key, share] : merged) total += share;
  policy_result out;
  out.flow_factor = total_before > 0 ? total / total_before : 0;
  if (total <= 0) return out;
  for (const auto& key : order) {
    double share = merged[key];
    if (share <= 0) continue;
    out.mix.shares.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), share / total});
  }
  return out;
}

}  // namespace

policy_result ban(const fleet_mix& mix, const std::function<bool(const fleet_share&)>& banned) {
  fleet_mix kept;
  for (const auto& s : mix.shares)
    if (!banned(s)) kept.shares.push_back(s);
  return normalised(kept, total_share(mix));
}

policy_result ban(const fleet_mix& mix, const vehicle_filter& banned) {
  return ban(mix, [&](const fleet_share& s) { return banned.matches(s); });
}

policy_result cap(const fleet_mix& mix, const vehicle_filter& capped, double share_max) {
  TWIN_REQUIRE(share_max >= 0 && share_max <= 1);
  double matched = 0;
  for (const auto& s : mix.shares)
    if (capped.matches(s)) matched += s.share;
  const double total = total_share(mix);
  const double allowed = share_max * total;
  if (matched <= allowed) return normalised(mix, total);
  // Every matched kind gives up the same fraction of its vehicle-km.
  const double keep = allowed / matched;
  fleet_mix out;
  for (auto s : mix.shares) {
    if (capped.matches(s)) s.share *= keep;
    out.shares.push_back(s);
  }
  return normalised(out, total);
}

fleet_mix electrify(const fleet_mix& mix, std::optional<vehicle_category> category,
                    double fraction) {
  TWIN_REQUIRE(fraction >= 0 && fraction <= 1);
  fleet_mix out;
  std::map<vehicle_category, std::pair<double, euro_standard>> moved;
  for (auto s : mix.shares) {
    if ((!category || s.category == *category) && s.f != fuel::electric) {
      double share = s.share * fraction;
      s.share -= share;
      auto& [sum, newest] =
          moved.try_emplace(s.category, 0.0, euro_standard::pre_euro).first->second;
      sum += share;
      if (share > 0) newest = std::max(newest, s.standard);
    }
    out.shares.push_back(s);
  }
  for (const auto& [c, entry] : moved)
    out.shares.push_back({c, fuel::electric, entry.second, entry.first});
  return normalised(out, total_share(mix)).mix;
}

policy_result low_emission_zone(const fleet_mix& mix, euro_standard minimum, lez_replacement rule) {
  vehicle_filter old;
  old.standard_below = minimum;
  if (rule == lez_replacement::stay_out) return ban(mix, old);
  fleet_mix out;
  for (auto s : mix.shares) {
    if (old.matches(s)) s.standard = minimum;
    out.shares.push_back(s);
  }
  return normalised(out, total_share(mix));
}

}  // namespace twin::env

// The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass
// filter whose cut-off rises with the signal's speed, so that a face holding
// still is held still (jitter removed) and a face that moves is followed
// with little lag. Time is counted in frames.
#pragma once

namespace gpen {

struct OneEuroParams {
  // Cut-off of a still signal, in cycles per frame (0.5: no filtering).
  double min_cutoff = 0.5;
  // How fast the cut-off rises with speed: cut-off = min_cutoff + beta *
  // |speed| / scale, speed in units per frame.
  double beta = 0.0;
  // Cut-off of the speed estimate, in cycles per frame.
  double derivative_cutoff = 0.1;
};

// One scalar.
class OneEuroFilter {
 public:
  // The first value passes unchanged.
  // `frames`: frames since the previous value (> 0); `scale`: what speed is
  // measured against (the face's size), > 0.
  double filter(double value, double frames, double scale, const OneEuroParams& params);
  // Takes `value` as it is (no smoothing), still following its speed.
  double follow(double value, double frames);
  // Where the value is expected `frames` frames after the last one, at the
  // filtered speed.
  double predict(double frames) const { return value_ + speed_ * frames; }
  double value() const { return value_; }
  // Units per frame.
  double speed() const { return speed_; }
  bool started() const { return started_; }

  // The smoothing factor of an exponential filter with `cutoff` cycles per
  // frame over `frames` frames, in (0, 1].
  static double alpha(double cutoff, double frames);

 private:
  bool started_ = false;
  double value_ = 0.0;   // filtered
  double raw_ = 0.0;     // the last value given
  double speed_ = 0.0;   // of the values given, filtered
  double change_ = 0.0;  // of the values given against the filtered ones, filtered
};

// The filter parameters of the `smoothing` property, (0, 1] (0 is no filter
// at all, left to the caller). The still cut-off falls geometrically from
// 0.5 cycles per frame near 0 to 0.005 at 1 (0.03 at the
// default 0.6); speed raises it by
// kSmoothingBeta cycles per frame per face size moved per frame.
OneEuroParams smoothing_params(double smoothing);
inline constexpr double kSmoothingBeta = 5.0;
inline constexpr double kDefaultSmoothing = 0.6;

}  // namespace gpen

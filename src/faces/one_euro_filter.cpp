#include "faces/one_euro_filter.h"

#include <algorithm>
#include <cmath>

namespace gpen {

double OneEuroFilter::alpha(double cutoff, double frames) {
  constexpr double kTwoPi = 6.283185307179586;
  const double tau = 1.0 / (kTwoPi * std::max(cutoff, 1e-9));
  return 1.0 / (1.0 + tau / std::max(frames, 1e-9));
}

double OneEuroFilter::filter(double value, double frames, double scale,
                             const OneEuroParams& params) {
  if (!started_ || !std::isfinite(value_) || !std::isfinite(value)) {
    started_ = true;
    value_ = raw_ = value;
    speed_ = change_ = 0.0;
    return value_;
  }
  frames = std::max(frames, 1e-9);
  const double a_speed = alpha(params.derivative_cutoff, frames);
  // The cut-off follows the speed against the filtered value (the filter's
  // own definition); predictions use the speed of the values themselves,
  // which the lag does not inflate.
  change_ += a_speed * ((value - value_) / frames - change_);
  speed_ += a_speed * ((value - raw_) / frames - speed_);
  raw_ = value;
  const double cutoff =
      params.min_cutoff + params.beta * std::abs(change_) / std::max(scale, 1e-9);
  // value_ + a (value - value_): an unchanged value stays exactly the same.
  value_ += alpha(cutoff, frames) * (value - value_);
  return value_;
}

double OneEuroFilter::follow(double value, double frames) {
  if (!started_ || !std::isfinite(value_) || !std::isfinite(value)) {
    started_ = true;
    value_ = raw_ = value;
    speed_ = change_ = 0.0;
    return value_;
  }
  frames = std::max(frames, 1e-9);
  speed_ += alpha(0.05, frames) * ((value - raw_) / frames - speed_);
  change_ = speed_;
  value_ = raw_ = value;
  return value_;
}

OneEuroParams smoothing_params(double smoothing) {
  const double s = std::clamp(smoothing, 0.0, 1.0);
  OneEuroParams p;
  p.min_cutoff = 0.5 * std::pow(0.005 / 0.5, s);
  p.beta = kSmoothingBeta;
  p.derivative_cutoff = 0.05;
  return p;
}

}  // namespace gpen

#include "generator/gpen_flops.h"

namespace gpen {

GpenFlops count_gpen_flops(const GpenConfig& c) {
  GpenFlops f;
  const double fm = c.feat_multiplier();
  auto area = [](double side) { return side * side; };
  // Encoder: 1x1 from RGB at full size, then blur + stride-2 3x3 down to 4x4.
  f.encoder += 2 * area(c.size) * 3 * c.channels_at(c.size);
  for (int j = 1; j <= c.log_size() - 2; ++j) {
    const double in = c.channels_at(c.size >> (j - 1)), out = c.channels_at(c.size >> j);
    const double side_in = c.size >> (j - 1);
    f.encoder += 2 * area(c.size >> j) * in * out * 9;
    f.blurs += 2 * area(side_in + 1) * in * 16;
  }
  // Generator: conv1 and to_rgb1 at 4x4, then per resolution an upsampling
  // transposed conv (each input pixel meets all 9 taps), a 3x3 conv, to_rgb.
  const double c4 = c.channels_at(4);
  f.convolutions += 2 * area(4) * c4 * c4 * 9;
  f.to_rgb += 2 * area(4) * c4 * fm * 3;
  double in = c4;
  for (int i = 3; i <= c.log_size(); ++i) {
    const double side = 1 << i, out = c.channels_at(1 << i);
    f.transposed += 2 * area(side / 2) * in * fm * out * 9;
    f.blurs += 2 * area(side + 1) * out * 16;
    f.convolutions += 2 * area(side) * out * fm * out * 9;
    f.to_rgb += 2 * area(side) * out * fm * 3;
    f.blurs += 2 * area(side + 3) * 3 * 16;  // the RGB skip's upsampling filter
    in = out;
  }
  return f;
}

}  // namespace gpen

// Filters on aligned face crops: denoising before the network, sharpening
// after it, and the Gaussian blur they (and the paste-back mask) are built on.
// All are torch ops, so they run wherever the crops are.
#pragma once

#include <torch/types.h>

namespace gpen {

// cv2.getGaussianKernel(ksize, sigma): `ksize` taps (odd, >= 1) summing to
// one, as a 1-D double tensor on the CPU.
torch::Tensor gaussian_kernel(int ksize, double sigma);

// cv2.GaussianBlur(x, (ksize, ksize), sigma) on each channel of a float
// [N, C, H, W] tensor, with cv2's default border (reflect-101; replicate when
// the image is smaller than the kernel's radius).
torch::Tensor gaussian_blur(const torch::Tensor& images, int ksize, double sigma);

// Edge-preserving denoise of float crops [N, 3, S, S] in [0, 255]: a
// bilateral filter (spatial sigma S/512 px, at least 1; range sigma 10 + 30 *
// amount levels on the RGB distance) mixed with the input by `amount`.
// amount 0 returns `crops` itself, untouched. Throws gpen::Error when amount is
// not in [0, 1].
torch::Tensor denoise(const torch::Tensor& crops, float amount);

// Unsharp mask of float crops [N, 3, S, S] in [0, 255]: adds `amount` times
// the detail above a Gaussian of sigma S/512 px (at least 0.8), clipped to
// [0, 255]. amount 0 returns `crops` itself, untouched. Throws gpen::Error
// when amount is not in [0, 1].
torch::Tensor sharpen(const torch::Tensor& crops, float amount);

}  // namespace gpen

#include "generator/fused_to_rgb.h"

#include <torch/torch.h>

#include "cuda/kernel_tensor_checks.h"

#ifdef GPEN_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace gpen {
namespace {

// A batched matrix product in the activations' dtype, then fp32.
torch::Tensor with_aten(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                        const torch::Tensor& skip) {
  const auto batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const auto pixels = x.permute({0, 2, 3, 1}).reshape({batch, height * width, channels});
  const auto rgb = torch::bmm(pixels, weight.to(x.scalar_type()).transpose(1, 2));  // [B, H*W, 3]
  auto out = rgb.view({batch, height, width, 3}).permute({0, 3, 1, 2}).to(torch::kFloat) +
             bias.reshape({1, 3, 1, 1});
  if (skip.defined()) out = out + skip;
  return out;
}

#ifdef GPEN_WITH_CUDA_KERNELS
torch::Tensor with_kernel(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                          const torch::Tensor& skip) {
  const c10::cuda::CUDAGuard guard(x.device());
  ToRgbKernelLaunch launch = prepare_to_rgb_kernel(x, weight, bias, skip);
  launch.args.stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
  const char* error = cuda::launch_to_rgb(launch.args);
  TORCH_CHECK(error[0] == '\0', "to_rgb kernel: ", error);
  return launch.out;
}
#endif

}  // namespace

bool to_rgb_kernel_takes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& skip) {
  if (!kernel_element_type(x.scalar_type())) return false;
  if (!x.is_contiguous(torch::MemoryFormat::ChannelsLast) || !data_aligned(x, 16)) return false;
  if (!weight.is_contiguous() || weight.scalar_type() != torch::kFloat || !data_aligned(weight, 16)) return false;
  if (skip.defined() && (!skip.is_contiguous() || skip.scalar_type() != torch::kFloat)) return false;
  return cuda::to_rgb_kernel_applies(static_cast<int>(x.size(1)), static_cast<int>(x.element_size()));
}

ToRgbKernelLaunch prepare_to_rgb_kernel(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const torch::Tensor& skip) {
  ToRgbKernelLaunch launch;
  const auto bias_fp32 = bias.to(torch::kFloat).contiguous();
  launch.inputs = {x, weight, bias_fp32, skip};
  launch.out = torch::empty({x.size(0), 3, x.size(2), x.size(3)}, x.options().dtype(torch::kFloat));
  cuda::ToRgbKernelArgs& a = launch.args;
  a.type = *kernel_element_type(x.scalar_type());
  a.batch = x.size(0);
  a.height = x.size(2);
  a.width = x.size(3);
  a.channels = static_cast<int>(x.size(1));
  a.x = x.data_ptr();
  a.weight = weight.data_ptr<float>();
  a.bias = bias_fp32.data_ptr<float>();
  a.skip = skip.defined() ? skip.data_ptr<float>() : nullptr;
  a.out = launch.out.data_ptr<float>();
  return launch;
}

torch::Tensor fused_to_rgb(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                           const torch::Tensor& skip) {
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 3 && weight.size(0) == x.size(0) && weight.size(1) == 3 &&
                  weight.size(2) == x.size(1) && bias.numel() == 3,
              "fused_to_rgb: shapes ", x.sizes(), ", ", weight.sizes(), ", ", bias.sizes());
  if (skip.defined())
    TORCH_CHECK(skip.size(0) == x.size(0) && skip.size(1) == 3 && skip.size(2) == x.size(2) &&
                    skip.size(3) == x.size(3),
                "fused_to_rgb: skip ", skip.sizes(), " does not match ", x.sizes());
#ifdef GPEN_WITH_CUDA_KERNELS
  if (x.is_cuda() && to_rgb_kernel_takes(x, weight, skip)) return with_kernel(x, weight, bias, skip);
#endif
  return with_aten(x, weight, bias, skip);
}

}  // namespace gpen

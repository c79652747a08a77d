#include "generator/fused_epilogue.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include <torch/torch.h>

#include "cuda/kernel_tensor_checks.h"
#include "generator/fused_to_rgb.h"

#ifdef GPEN_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace gpen {
namespace {

constexpr auto kChannelsLast = torch::MemoryFormat::ChannelsLast;

// The definition, op by op in fp32 (CPU, and CUDA without the kernel).
EpilogueOutputs with_aten(const EpilogueInputs& in) {
  const auto dtype = in.conv.scalar_type();
  auto v = in.conv.to(torch::kFloat);
  if (in.blur != nullptr) v = upfirdn2d(v, *in.blur);
  const auto batch = v.size(0);
  if (in.out_scale.defined()) v = v * in.out_scale.view({batch, -1, 1, 1});
  if (in.features.defined()) {
    const auto noise = in.features.to(torch::kFloat) * in.noise_weight;
    v = in.concat ? torch::cat({v, noise}, 1) : v + noise;
  }
  if (in.activate) v = torch::leaky_relu(v + in.bias.view({1, -1, 1, 1}), 0.2) * std::sqrt(2.0);
  EpilogueOutputs out;
  if (in.want_plain || !in.next_scale.defined()) out.plain = v.to(dtype).contiguous(kChannelsLast);
  if (in.want_scaled)
    out.scaled = in.next_scale.defined()
                     ? (v * in.next_scale.view({batch, -1, 1, 1})).to(dtype).contiguous(kChannelsLast)
                     : out.plain;
  if (!in.want_plain) out.plain = torch::Tensor();
  return out;
}

// Channels out: the convolution's, and as many again for concatenated features.
std::int64_t out_channels_of(const EpilogueInputs& in) {
  return (in.features.defined() && in.concat ? 2 : 1) * in.conv.size(1);
}

bool aligned_pairs(const torch::Tensor& t) { return data_aligned(t, 2 * t.element_size()); }

const float* float_pointer(const torch::Tensor& t) {
  return t.defined() ? t.data_ptr<float>() : nullptr;
}

// fp32, contiguous and 16-byte aligned (a view into a larger tensor may not
// be; a copy is), so that the kernel loads per-channel values as float4.
torch::Tensor contiguous_float(const torch::Tensor& t) {
  if (!t.defined()) return t;
  const auto c = t.to(torch::kFloat).contiguous();
  return data_aligned(c, 16) ? c : c.clone();
}

// Whether this call folds to_rgb into the CUDA kernel.
bool folds_to_rgb(const EpilogueInputs& in) {
#ifdef GPEN_WITH_CUDA_KERNELS
  return in.conv.is_cuda() && cuda::fold_to_rgb() && epilogue_kernel_folds_to_rgb(in);
#else
  (void)in;
  return false;
#endif
}

#ifdef GPEN_WITH_CUDA_KERNELS
EpilogueOutputs with_kernel(const EpilogueInputs& in) {
  const c10::cuda::CUDAGuard guard(in.conv.device());
  EpilogueKernelLaunch launch = prepare_epilogue_kernel(in);
  launch.args.stream = c10::cuda::getCurrentCUDAStream(in.conv.device().index()).stream();
  const char* error = cuda::launch_fused_epilogue(launch.args);
  TORCH_CHECK(error[0] == '\0', "fused_epilogue kernel: ", error);
  return launch.outputs;
}
#endif

}  // namespace

// The kernel reads channel pairs of channels-last buffers: it needs even
// channel counts, 4x4 blurs and matching dtypes; anything else takes ATen.
bool epilogue_kernel_applies(const EpilogueInputs& in) {
  const auto dtype = in.conv.scalar_type();
  if (!kernel_element_type(dtype)) return false;
  if (in.conv.size(1) % 2 != 0) return false;
  if (in.features.defined() &&
      (in.features.scalar_type() != dtype || in.features.size(1) != in.conv.size(1)))
    return false;
  if (in.blur != nullptr &&
      (in.blur->up != 1 || in.blur->down != 1 || !in.blur_taps.defined() ||
       in.blur_taps.numel() != 16 || !in.blur_taps.device().is_cpu() ||
       in.blur->pad0 != in.blur->pad1))
    return false;
  // Its offsets within an image are 32-bit: the output's (at most twice the
  // channels, padded by the blur) must fit with room to spare.
  const auto pad = in.blur != nullptr ? 2 * in.blur->pad0 : 0;
  const auto image = 2 * in.conv.size(1) * (in.conv.size(2) + pad) * (in.conv.size(3) + pad);
  return image <= INT_MAX / 2;
}

bool epilogue_kernel_folds_to_rgb(const EpilogueInputs& in) {
  if (!in.to_rgb || !epilogue_kernel_applies(in)) return false;
  // The arguments' shapes and the activations' alignment; every other buffer
  // is allocated here or copied to fp32 aligned (contiguous_float).
  const auto conv = in.conv.contiguous(kChannelsLast);
  const auto features = in.features.defined() ? in.features.contiguous(kChannelsLast) : in.features;
  cuda::EpilogueKernelArgs a;
  a.type = *kernel_element_type(conv.scalar_type());
  a.conv_channels = static_cast<int>(conv.size(1));
  a.out_channels = static_cast<int>(out_channels_of(in));
  a.blur = in.blur != nullptr;
  a.activate = in.activate;
  a.conv = conv.data_ptr();
  a.features = features.defined() ? features.data_ptr() : nullptr;
  return cuda::rgb_fold_applies(a);
}

EpilogueKernelLaunch prepare_epilogue_kernel(const EpilogueInputs& in) {
  const auto conv = in.conv.contiguous(kChannelsLast);
  const auto features = in.features.defined() ? in.features.contiguous(kChannelsLast) : in.features;
  const auto out_scale = contiguous_float(in.out_scale);
  const auto bias = contiguous_float(in.bias);
  const auto next_scale = contiguous_float(in.next_scale);
  const auto taps = contiguous_float(in.blur_taps);  // host memory: no copy, no sync

  const auto batch = conv.size(0), channels = conv.size(1);
  const auto height = in.blur ? conv.size(2) + 2 * in.blur->pad0 - 3 : conv.size(2);
  const auto width = in.blur ? conv.size(3) + 2 * in.blur->pad0 - 3 : conv.size(3);
  const auto out_channels = out_channels_of(in);
  if (in.activate)
    TORCH_CHECK(bias.numel() == out_channels, "fused_epilogue: bias has ", bias.numel(),
                " values for ", out_channels, " channels");
  if (features.defined())
    TORCH_CHECK(features.size(0) == batch && features.size(2) == height &&
                    features.size(3) == width,
                "fused_epilogue: features ", features.sizes(), " do not match the output");

  const auto options = conv.options().memory_format(kChannelsLast);
  EpilogueKernelLaunch launch;
  launch.inputs = {conv, features, out_scale, bias, next_scale};
  EpilogueOutputs& out = launch.outputs;
  if (in.want_scaled) out.scaled = torch::empty({batch, out_channels, height, width}, options);
  const bool separate_plain = in.want_plain && (next_scale.defined() || !in.want_scaled);
  if (separate_plain) out.plain = torch::empty({batch, out_channels, height, width}, options);

  cuda::EpilogueKernelArgs& a = launch.args;
  a.type = *kernel_element_type(conv.scalar_type());
  a.batch = batch;
  a.height = height;
  a.width = width;
  a.conv_channels = static_cast<int>(channels);
  a.out_channels = static_cast<int>(out_channels);
  a.conv = conv.data_ptr();
  a.conv_height = conv.size(2);
  a.conv_width = conv.size(3);
  a.blur = in.blur != nullptr;
  if (a.blur) std::copy_n(taps.data_ptr<float>(), 16, a.blur_taps);
  a.blur_pad = in.blur ? in.blur->pad0 : 0;
  a.out_scale = float_pointer(out_scale);
  a.features = features.defined() ? features.data_ptr() : nullptr;
  a.noise_weight = static_cast<float>(in.noise_weight);
  a.concat = in.concat;
  a.activate = in.activate;
  a.bias = in.activate ? bias.data_ptr<float>() : nullptr;
  a.next_scale = float_pointer(next_scale);
  a.out = in.want_scaled ? out.scaled.data_ptr() : nullptr;
  a.out_plain = separate_plain ? out.plain.data_ptr() : nullptr;
  TORCH_CHECK(aligned_pairs(conv) && (!features.defined() || aligned_pairs(features)),
              "fused_epilogue: misaligned input");
  if (in.want_plain && !separate_plain) out.plain = out.scaled;

  if (in.to_rgb) {
    const EpilogueToRgb& rgb = *in.to_rgb;
    TORCH_CHECK(rgb.weight.dim() == 3 && rgb.weight.size(0) == batch && rgb.weight.size(1) == 3 &&
                    rgb.weight.size(2) == out_channels && rgb.bias.numel() == 3,
                "fused_epilogue: to_rgb weight ", rgb.weight.sizes(), " and bias ", rgb.bias.sizes(),
                " do not match ", out_channels, " channels");
    if (rgb.skip.defined())
      TORCH_CHECK(rgb.skip.sizes() == torch::IntArrayRef({batch, 3, height, width}),
                  "fused_epilogue: to_rgb skip ", rgb.skip.sizes(), " does not match the output");
    const auto weight = contiguous_float(rgb.weight);
    const auto rgb_bias = contiguous_float(rgb.bias);
    const auto skip = contiguous_float(rgb.skip);
    launch.inputs.insert(launch.inputs.end(), {weight, rgb_bias, skip});
    out.rgb = torch::empty({batch, 3, height, width}, conv.options().dtype(torch::kFloat));
    a.rgb_weight = weight.data_ptr<float>();
    a.rgb_bias = rgb_bias.data_ptr<float>();
    a.rgb_skip = float_pointer(skip);
    a.rgb = out.rgb.data_ptr<float>();
    TORCH_CHECK(cuda::rgb_fold_applies(a), "fused_epilogue: the kernel cannot fold to_rgb in here");
  }
  return launch;
}

bool fused_epilogue_has_cuda_kernel() {
#ifdef GPEN_WITH_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

std::string fused_epilogue_cuda_description() {
#ifdef GPEN_WITH_CUDA_KERNELS
  const auto& b = cuda::epilogue_blocking();
  const auto block = [](const cuda::EpilogueBlock& asked) {
    const auto k = cuda::compiled_epilogue_block(asked);
    return std::to_string(k.rows) + "x" + std::to_string(k.columns);
  };
  return "CUDA kernel, outputs per thread (rows x columns): after a blur " + block(b.blur) + ", others " +
         block(b.plain) + " (GPEN_EPILOGUE_ROWS/COLUMNS); to_rgb folded in where it can be: " +
         (cuda::fold_to_rgb() ? "yes" : "no") + " (GPEN_FUSED_TO_RGB)";
#else
  return "ATen ops (this build has no CUDA kernels)";
#endif
}

EpilogueOutputs fused_epilogue(const EpilogueInputs& in) {
  if (in.to_rgb && !folds_to_rgb(in)) {
    // The activations, then to_rgb reading them back.
    EpilogueInputs activations = in;
    activations.to_rgb.reset();
    activations.want_plain = true;
    EpilogueOutputs out = fused_epilogue(activations);
    out.rgb = fused_to_rgb(out.plain, in.to_rgb->weight, in.to_rgb->bias, in.to_rgb->skip);
    if (!in.want_plain) out.plain = torch::Tensor();
    return out;
  }
#ifdef GPEN_WITH_CUDA_KERNELS
  if (in.conv.is_cuda() && epilogue_kernel_applies(in)) return with_kernel(in);
#endif
  return with_aten(in);
}

}  // namespace gpen

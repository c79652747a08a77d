/* The enum types of gpenenhance's properties (declared in gstgpenenhance.h). */
#include "gstgpenenums.h"

GType gst_gpen_face_mode_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_FACE_MODE_ALIGNED, "Every frame is one aligned face (FFHQ layout)", "aligned"},
      {GST_GPEN_FACE_MODE_FULL,
       "Find the faces (upstream face metas or the detector), restore them and paste them back",
       "full"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenFaceMode", values));
  return type;
}

GType gst_gpen_messages_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_MESSAGES_NONE, "Post no face messages", "none"},
      {GST_GPEN_MESSAGES_FRAME, "A gpen-faces element message per frame", "frame"},
      {GST_GPEN_MESSAGES_BATCH, "A gpen-batch element message per group of frames pushed together",
       "batch"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenMessages", values));
  return type;
}

GType gst_gpen_precision_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_PRECISION_AUTO, "fp16 on CUDA, fp32 on the CPU", "auto"},
      {GST_GPEN_PRECISION_FP32, "32-bit float", "fp32"},
      {GST_GPEN_PRECISION_FP16, "16-bit float (CUDA only; the CPU uses fp32)", "fp16"},
      {GST_GPEN_PRECISION_BF16, "bfloat16 (CUDA only; the CPU uses fp32)", "bf16"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenPrecision", values));
  return type;
}

gpen::Precision gpen_core_precision(GstGpenPrecision precision) {
  switch (precision) {
    case GST_GPEN_PRECISION_FP32: return gpen::Precision::Fp32;
    case GST_GPEN_PRECISION_FP16: return gpen::Precision::Fp16;
    case GST_GPEN_PRECISION_BF16: return gpen::Precision::Bf16;
    default: return gpen::Precision::Auto;
  }
}

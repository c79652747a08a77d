#include "gstgpenframe.h"

#include <cstdint>

#include "runtime/pixel_transfer.h"

gpen::ImageView gpen_image_view(GstVideoFrame* frame) {
  gpen::ImageView view;
  auto* plane = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  view.data = plane;
  view.width = GST_VIDEO_FRAME_WIDTH(frame);
  view.height = GST_VIDEO_FRAME_HEIGHT(frame);
  view.row_stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  view.pixel_stride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, 0);
  // For RGB formats components 0, 1, 2 are R, G, B whatever their byte order.
  auto offset = [&](int component) {
    return static_cast<int>(static_cast<std::uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(frame, component)) -
                            plane);
  };
  view.red = offset(0);
  view.green = offset(1);
  view.blue = offset(2);
  return view;
}

gboolean gpen_video_info_is_yuv(const GstVideoInfo* info) {
  const GstVideoFormat format = GST_VIDEO_INFO_FORMAT(info);
  return format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_NV12;
}

gpen::YuvView gpen_yuv_view(GstVideoFrame* frame) {
  gpen::YuvView view;
  const bool nv12 = GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_NV12;
  view.layout = nv12 ? gpen::ChromaLayout::Interleaved : gpen::ChromaLayout::Planar;
  view.width = GST_VIDEO_FRAME_WIDTH(frame);
  view.height = GST_VIDEO_FRAME_HEIGHT(frame);
  auto plane = [&](int index) {
    return static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, index));
  };
  view.y = plane(0);
  view.y_stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  view.u = plane(1);
  view.u_stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1);
  if (!nv12) {
    view.v = plane(2);
    view.v_stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 2);
  }
  const GstVideoColorimetry& colorimetry = frame->info.colorimetry;
  gdouble kr = 0, kb = 0;
  if (gst_video_color_matrix_get_Kr_Kb(colorimetry.matrix, &kr, &kb)) {
    view.matrix.kr = kr;
    view.matrix.kb = kb;
  }
  view.matrix.full_range = colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  return view;
}

torch::Tensor gpen_frame_rgb(GstVideoFrame* frame, torch::Device device) {
  if (!gpen_video_info_is_yuv(&frame->info))
    return gpen::upload_rgb(gpen_image_view(frame), device);
  const gpen::YuvView view = gpen_yuv_view(frame);
  return gpen::yuv_to_rgb(gpen::upload_yuv(view, device), view.matrix);
}

void gpen_propose_held_allocation(GstQuery* query, guint held) {
  const guint n_pools = gst_query_get_n_allocation_pools(query);
  for (guint i = 0; i < n_pools; ++i) {
    GstBufferPool* pool = nullptr;
    guint size = 0, min = 0, max = 0;
    gst_query_parse_nth_allocation_pool(query, i, &pool, &size, &min, &max);
    min += held;
    if (max != 0 && max < min) max = min;
    gst_query_set_nth_allocation_pool(query, i, pool, size, min, max);
    if (pool) gst_object_unref(pool);
  }
  if (n_pools == 0) {
    GstCaps* caps = nullptr;
    gboolean need_pool = FALSE;
    gst_query_parse_allocation(query, &caps, &need_pool);
    GstVideoInfo info;
    if (caps && gst_video_info_from_caps(&info, caps)) {
      GstBufferPool* pool = nullptr;
      if (need_pool) {
        pool = gst_video_buffer_pool_new();
        GstStructure* config = gst_buffer_pool_get_config(pool);
        gst_buffer_pool_config_set_params(config, caps, static_cast<guint>(info.size), held + 1, 0);
        gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
        if (!gst_buffer_pool_set_config(pool, config)) {
          gst_object_unref(pool);
          pool = nullptr;
        }
      }
      gst_query_add_allocation_pool(query, pool, static_cast<guint>(info.size), held + 1, 0);
      if (pool) gst_object_unref(pool);
    }
  }
  if (!gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr))
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
}

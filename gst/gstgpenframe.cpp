#include "gstgpenframe.h"

#include <cstdint>

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

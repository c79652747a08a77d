/* A mapped GstVideoFrame as the core library's ImageView. */
#pragma once

#include <gst/video/video.h>

#include "runtime/image_tensor.h"
#include "runtime/yuv_image.h"

/* The raw video formats the gpen elements take and give: packed 8-bit RGB,
 * what gpen_image_view reads, and the 4:2:0 formats decoders give (I420,
 * NV12: gpen_yuv_view), converted on the network's device. */
#define GPEN_VIDEO_CAPS \
  GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }")

/* Whether a frame of `info` is 4:2:0 (I420, NV12): gpen_yuv_view, not
 * gpen_image_view. */
gboolean gpen_video_info_is_yuv(const GstVideoInfo* info);

/* The planes of an I420 or NV12 frame, with its colour matrix and range
 * (BT.601 where the caps name none). */
gpen::YuvView gpen_yuv_view(GstVideoFrame* frame);

/* [3, H, W] uint8 RGB of any frame of GPEN_VIDEO_CAPS on `device`
 * (the frame must stay mapped during the call only). */
torch::Tensor gpen_frame_rgb(GstVideoFrame* frame, torch::Device device);

/* Plane 0 of a packed RGB-family frame (RGB, BGR, RGBA, BGRA, RGBx, BGRx):
 * its size, strides and the byte offsets of R, G and B in a pixel. */
gpen::ImageView gpen_image_view(GstVideoFrame* frame);

/* Answers an ALLOCATION query for a filter that holds up to `held` frames:
 * upstream's pools get that many more buffers (or one is proposed with
 * them), and video metas are accepted. */
void gpen_propose_held_allocation(GstQuery* query, guint held);

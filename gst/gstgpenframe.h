/* A mapped GstVideoFrame as the core library's ImageView. */
#pragma once

#include <gst/video/video.h>

#include "runtime/image_tensor.h"

/* The raw video formats the gpen elements take and give: packed 8-bit RGB,
 * what gpen_image_view reads. */
#define GPEN_VIDEO_CAPS GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx }")

/* Plane 0 of a packed RGB-family frame (RGB, BGR, RGBA, BGRA, RGBx, BGRx):
 * its size, strides and the byte offsets of R, G and B in a pixel. */
gpen::ImageView gpen_image_view(GstVideoFrame* frame);

/* Answers an ALLOCATION query for a filter that holds up to `held` frames:
 * upstream's pools get that many more buffers (or one is proposed with
 * them), and video metas are accepted. */
void gpen_propose_held_allocation(GstQuery* query, guint held);

/* A mapped GstVideoFrame as the core library's ImageView. */
#pragma once

#include <gst/video/video.h>

#include "image_tensor.h"

/* Plane 0 of a packed RGB-family frame (RGB, BGR, RGBA, BGRA, RGBx, BGRx):
 * its size, strides and the byte offsets of R, G and B in a pixel. */
gpen::ImageView gpen_image_view(GstVideoFrame* frame);

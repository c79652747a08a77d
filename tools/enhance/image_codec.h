// One small pipeline per image to read it, and one to write it. They run on
// gpen-enhance's workers, several at once, beside the one long-lived pipeline
// that restores the faces: a file that does not decode fails its own pipeline
// only, and is reported by name.
#pragma once

#include <gst/gst.h>

#include <string>

#include "gst_ptr.h"
#include "options.h"
#include "run_stats.h"

namespace gpen_tools {

struct DecodedImage {
  SamplePtr sample;   // the first frame, RGB or RGBA, upright, downscaled to max_size
  std::string error;  // why there is none
};

// filesrc ! decodebin ! videoconvert ! videoflip (EXIF orientation) !
// videoscale ! appsink, prerolled. max_size 0: the image's own size.
// `times`, when given, gets the time spent (conversion apart).
DecodedImage decode_image(const std::string& path, int max_size, CodecTimes* times = nullptr);

enum class ImageEncoder { Jpeg, Png, Webp };

struct ImageOutput {
  std::string relative;  // where under OUTPUT
  ImageEncoder encoder;
};

// The format and name of an image's output: with --format same, JPEG stays
// JPEG, PNG stays PNG, WebP stays WebP where webpenc is installed, and every
// other format (BMP, TIFF; GStreamer has no encoder for them here) becomes PNG,
// which loses nothing.
ImageOutput image_output_for(const std::string& relative, OutputFormat format);

// appsrc ! videoconvert ! encoder ! filesink, into `path`.part, renamed to
// `path` once complete (so an interrupted run leaves no truncated image
// behind for --skip-existing to trust). PNG is written at zlib level 1:
// pngenc's default (6) takes several times as long at 1080p for files about
// a fifth smaller. Returns an empty string, or the error.
std::string encode_image(GstSample* sample, const std::string& path, ImageEncoder encoder,
                         int quality, CodecTimes* times = nullptr);

}  // namespace gpen_tools

// Which muxer and encoders write a video here: the container asked for (by
// the output's extension) with the first installed encoders it accepts,
// H.264 and AAC first, then the free codecs.
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

namespace gpen_tools {

struct VideoRecipe {
  std::string extension;      // ".mp4", ".mkv", ...
  std::string muxer;          // element factory names
  std::string video_encoder;
  std::string audio_encoder;  // empty: no encoder fits; audio can only be passed through
};

// The recipe for a container, or nothing when its muxer or a video encoder
// it takes is not installed.
std::optional<VideoRecipe> recipe_for_extension(const std::string& extension);

// The recipe for `wanted` (an extension), else Matroska, which takes
// every codec installed.
std::optional<VideoRecipe> choose_recipe(const std::string& wanted);

// Whether the muxer takes already encoded `caps` as they are (audio passed
// through without decoding); only streams in whole packets are.
bool muxer_accepts(const std::string& muxer, GstCaps* caps);

// Sets an encoder up for good quality at a sensible speed (their defaults
// are often a low bitrate).
void configure_video_encoder(GstElement* encoder);

}  // namespace gpen_tools

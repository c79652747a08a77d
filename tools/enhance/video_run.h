// Restores the faces of a video file into a new one with the same audio:
//
//   filesrc ! decodebin -+- queue ! videoconvert ! (videoscale) ! gpenenhance !
//                        |    queue ! videoconvert ! ENCODER ! queue ! MUXER ! filesink
//                        +- queue ! (audio as it is, when the muxer takes it;
//                                    else audioconvert ! audioresample ! ENCODER) ! queue ! MUXER
//
// Every stage runs in its own thread (the queues), so decoding, the network
// and encoding overlap.
#pragma once

#include <atomic>
#include <string>

#include "enhancer.h"
#include "options.h"
#include "progress.h"
#include "video_recipe.h"

namespace gpen_tools {

struct VideoJob {
  std::string name;    // for messages
  std::string input;
  std::string output;  // written as output.part, renamed when complete
  VideoRecipe recipe;
};

// Empty on success, else why it failed. Progress is counted in frames.
std::string run_video(const VideoJob& job, const Options& options, const ModelPaths& models,
                      Progress& progress, const std::atomic<bool>& interrupted);

}  // namespace gpen_tools

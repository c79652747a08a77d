// Where gpen-enhance finds the gpen plugin and the models: in the build tree
// when it runs from there, else next to its installation.
#pragma once

#include <string>

namespace gpen_tools {

struct Locations {
  bool in_build_tree = false;
  std::string plugin_dir;     // the folder with libgstgpen.so
  std::string model_dir;      // $GPEN_MODEL_DIR, else models/ of the build's source or install
  std::string fetch_script;   // models/fetch-models.sh beside those models
};

// Decides from where this executable lives (/proc/self/exe).
Locations find_locations();

// Puts plugin_dir first in GST_PLUGIN_PATH, so that this build's plugin is the
// one loaded (an installed prefix such as /usr/local is not in GStreamer's
// default search path either). Call before gst_init().
void use_plugin_dir(const Locations& locations);

// The model file to use: `given` as a path when it names an existing file or
// has a folder in it, else a file of the model folder ("GPEN-BFR-256" and
// "GPEN-BFR-256.pth" both work); `fallback` (a file name) when `given` is empty.
std::string resolve_model(const std::string& given, const std::string& fallback,
                          const Locations& locations);

// What to tell a user whose model file is not there: which file, what it is
// for, where to get it and where to put it.
std::string missing_model_message(const std::string& path, const Locations& locations);

bool is_file(const std::string& path);

}  // namespace gpen_tools

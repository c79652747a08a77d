// --max-size: videoscale downscales frames whose long side is over a limit.
#pragma once

#include <gst/gst.h>

namespace gpen_tools {

// When caps reach `videoscale`, tells `capsfilter` (right after it) the size
// that keeps the aspect ratio with the long side at most `max_size`.
void limit_long_side(GstElement* videoscale, GstElement* capsfilter, int max_size);

}  // namespace gpen_tools

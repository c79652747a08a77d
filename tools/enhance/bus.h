// Small helpers over pipeline buses: what an error says, waiting for a result.
#pragma once

#include <gst/gst.h>

#include <string>

#include "gst_ptr.h"

namespace gpen_tools {

// "message" of an ERROR or WARNING message, and, when the message alone says
// little (a generic "Internal data stream error."), the last line of its
// debug text, which names the cause.
std::string message_text(GstMessage* message);

// Pops messages until one of `types`, an ERROR, or the timeout; nullptr on
// timeout.
MessagePtr wait_for(GstBus* bus, GstMessageType types, GstClockTime timeout);

// Builds a pipeline from a gst-launch description, or sets `error`.
Pipeline parse_pipeline(const std::string& description, std::string& error);

}  // namespace gpen_tools

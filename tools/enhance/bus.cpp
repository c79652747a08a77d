#include "bus.h"

#include <cstring>

namespace gpen_tools {

std::string message_text(GstMessage* message) {
  GError* raw = nullptr;
  gchar* raw_debug = nullptr;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
    gst_message_parse_error(message, &raw, &raw_debug);
  else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING)
    gst_message_parse_warning(message, &raw, &raw_debug);
  else
    return GST_MESSAGE_TYPE_NAME(message);
  GErrorPtr error(raw);
  GCharPtr debug(raw_debug);
  std::string text = error ? error->message : "unknown error";
  // These say little by themselves; the debug text's last line says what
  // failed or which decoder is missing.
  const bool generic =
      error && (g_error_matches(error.get(), GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED) ||
                g_error_matches(error.get(), GST_CORE_ERROR, GST_CORE_ERROR_FAILED) ||
                g_error_matches(error.get(), GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN));
  if (generic && debug) {
    std::string detail = debug.get();
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    const auto newline = detail.find_last_of('\n');
    if (newline != std::string::npos) detail = detail.substr(newline + 1);
    if (!detail.empty()) text += " (" + detail + ")";
  }
  return text;
}

MessagePtr wait_for(GstBus* bus, GstMessageType types, GstClockTime timeout) {
  return MessagePtr(gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(types | GST_MESSAGE_ERROR)));
}

Pipeline parse_pipeline(const std::string& description, std::string& error) {
  GError* raw = nullptr;
  GstElement* pipeline = gst_parse_launch_full(description.c_str(), nullptr,
                                               GST_PARSE_FLAG_FATAL_ERRORS, &raw);
  GErrorPtr owned(raw);
  if (!pipeline || owned) {
    if (pipeline) gst_object_unref(pipeline);
    error = owned ? owned->message : "cannot build the pipeline";
    return Pipeline();
  }
  return Pipeline(pipeline);
}

}  // namespace gpen_tools

// Helpers for tests that run programs and scripts as a user would: spawn a
// command with extra environment, capture its output and exit status, and
// work in a temporary folder removed afterwards.
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace gpen_test {

namespace fs = std::filesystem;

struct RunResult {
  int status = -1;  // exit status; -1 when it did not exit normally
  std::string out, err;
  std::string all() const { return out + err; }
};

// Runs argv with the environment plus `env` (a variable set to "" is
// removed), in `cwd` when given.
inline RunResult run(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {},
                     const std::string& cwd = {}) {
  std::vector<gchar*> args;
  for (const auto& a : argv) args.push_back(const_cast<gchar*>(a.c_str()));
  args.push_back(nullptr);
  gchar** environment = g_get_environ();
  for (const auto& [name, value] : env)
    environment = value.empty() ? g_environ_unsetenv(environment, name.c_str())
                                : g_environ_setenv(environment, name.c_str(), value.c_str(), TRUE);
  gchar *out = nullptr, *err = nullptr;
  gint wait_status = 0;
  GError* error = nullptr;
  RunResult result;
  const gboolean spawned = g_spawn_sync(cwd.empty() ? nullptr : cwd.c_str(), args.data(),
                                        environment, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out,
                                        &err, &wait_status, &error);
  g_strfreev(environment);
  if (!spawned) {
    result.err = error ? error->message : "cannot spawn";
    g_clear_error(&error);
    return result;
  }
  result.out = out ? out : "";
  result.err = err ? err : "";
  g_free(out);
  g_free(err);
  if (WIFEXITED(wait_status)) result.status = WEXITSTATUS(wait_status);
  return result;
}

// A fresh temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    gchar* made = g_dir_make_tmp("gst-gpen-test-XXXXXX", nullptr);
    path_ = made ? made : "";
    g_free(made);
  }
  ~TempDir() {
    std::error_code error;
    if (!path_.empty()) fs::remove_all(path_, error);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline void copy_into(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

inline void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Not an image: random-looking bytes with a .jpg name.
inline std::string corrupt_bytes() {
  std::string bytes(4096, '\0');
  guint32 state = 12345;
  for (auto& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<char>(state >> 24);
  }
  return bytes;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What a media file holds, by decoding it: video frames and size, and the
// audio's duration.
struct MediaSummary {
  int video_frames = 0;
  int width = 0, height = 0;
  GstClockTime audio_duration = 0;
  bool has_audio = false;
  std::string error;
};

inline MediaSummary probe_media(const std::string& path) {
  MediaSummary summary;
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = gst_element_factory_make("filesrc", nullptr);
  GstElement* decode = gst_element_factory_make("decodebin", nullptr);
  g_object_set(src, "location", path.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, decode, nullptr);
  gst_element_link(src, decode);
  struct Context {
    GstElement* pipeline;
    MediaSummary* summary;
  } context{pipeline, &summary};
  g_signal_connect(decode, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
    auto* c = static_cast<Context*>(data);
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, nullptr);
    gst_bin_add(GST_BIN(c->pipeline), sink);
    gst_element_sync_state_with_parent(sink);
    GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_link(pad, sink_pad);
    gst_object_unref(sink_pad);
    GstCaps* caps = gst_pad_get_current_caps(pad);
    const bool video = caps && g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
    if (caps) gst_caps_unref(caps);
    if (!video) c->summary->has_audio = true;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER,
                      video ? +[](GstPad* p, GstPadProbeInfo*, gpointer d) {
                        auto* s = static_cast<MediaSummary*>(d);
                        if (s->video_frames++ == 0) {
                          GstCaps* current = gst_pad_get_current_caps(p);
                          const GstStructure* st = gst_caps_get_structure(current, 0);
                          gst_structure_get_int(st, "width", &s->width);
                          gst_structure_get_int(st, "height", &s->height);
                          gst_caps_unref(current);
                        }
                        return GST_PAD_PROBE_OK;
                      }
                            : +[](GstPad*, GstPadProbeInfo* info, gpointer d) {
                                auto* s = static_cast<MediaSummary*>(d);
                                GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
                                if (GST_BUFFER_DURATION_IS_VALID(buffer))
                                  s->audio_duration += GST_BUFFER_DURATION(buffer);
                                return GST_PAD_PROBE_OK;
                              },
                      c->summary, nullptr);
  }), &context);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!message) summary.error = "timed out";
  else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) summary.error = "decoding error";
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return summary;
}

// A short video with a face (astronaut.png, frozen) and a tone, in Matroska
// (VP8 + Vorbis, the codecs Debian's base/good plugins have).
inline bool make_test_video(const std::string& image, const std::string& path, int frames,
                            int fps = 12) {
  const std::string description =
      "filesrc location=\"" + image + "\" ! pngdec ! videoconvert ! imagefreeze num-buffers=" +
      std::to_string(frames) + " ! video/x-raw,framerate=" + std::to_string(fps) +
      "/1 ! videoscale ! video/x-raw,width=256,height=256 ! videoconvert ! vp8enc deadline=1 ! "
      "queue ! mux. audiotestsrc num-buffers=" + std::to_string(frames * 44100 / fps / 1024) +
      " ! audioconvert ! vorbisenc ! queue ! mux. matroskamux name=mux ! filesink location=\"" +
      path + "\"";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline || error) {
    g_clear_error(&error);
    return false;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS;
  if (message) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ok;
}

}  // namespace gpen_test

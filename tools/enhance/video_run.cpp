#include "video_run.h"

#include <gst/video/video.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

#include "bus.h"
#include "scaling.h"

namespace gpen_tools {

namespace fs = std::filesystem;

namespace {

class VideoRun {
 public:
  VideoRun(const VideoJob& job, const Options& options, const ModelPaths& models) : job_(job) {
    pipeline_ = Pipeline(gst_pipeline_new("gpen-enhance-video"));
    src_ = make("filesrc");
    decodebin_ = make("decodebin");
    GstElement* video_queue = make("queue");
    GstElement* convert_in = make("videoconvert");
    // --max-size: a scaler, told its output size when the caps are known.
    GstElement* scale = options.max_size > 0 ? make("videoscale") : nullptr;
    GstElement* size = options.max_size > 0 ? make("capsfilter") : nullptr;
    gpen_ = make("gpenenhance");
    GstElement* out_queue = make("queue");
    GstElement* convert_out = make("videoconvert");
    GstElement* encoder = make(job.recipe.video_encoder.c_str());
    GstElement* mux_queue = make("queue");
    mux_ = make(job.recipe.muxer.c_str());
    GstElement* sink = make("filesink");
    if (!error_.empty()) return;

    g_object_set(src_, "location", job.input.c_str(), nullptr);
    g_object_set(sink, "location", (job.output + ".part").c_str(), nullptr);
    configure_gpenenhance(gpen_, options, models);
    configure_video_encoder(encoder);
    if (scale) limit_long_side(scale, size, options.max_size);
    // Room for a whole batch of decoded frames while the network runs.
    g_object_set(video_queue, "max-size-buffers", 64u, "max-size-bytes", 0u, "max-size-time",
                 G_GUINT64_CONSTANT(0), nullptr);

    const bool linked_in = scale ? gst_element_link_many(video_queue, convert_in, scale, size,
                                                         gpen_, nullptr)
                                 : gst_element_link_many(video_queue, convert_in, gpen_, nullptr);
    if (!linked_in || !gst_element_link(src_, decodebin_) ||
        !gst_element_link_many(gpen_, out_queue, convert_out, encoder, mux_queue, mux_, sink,
                               nullptr)) {
      error_ = "cannot link the video pipeline (" + job.recipe.video_encoder + " into " +
               job.recipe.muxer + ")";
      return;
    }
    video_sink_pad_.reset(gst_element_get_static_pad(video_queue, "sink"));
    g_signal_connect(decodebin_, "autoplug-continue", G_CALLBACK(on_autoplug_continue), this);
    g_signal_connect(decodebin_, "pad-added", G_CALLBACK(on_pad_added), this);
    g_signal_connect(decodebin_, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
  }

  std::string run(Progress& progress, const std::atomic<bool>& interrupted) {
    if (!error_.empty()) return error_;
    BusPtr bus = pipeline_.bus();
    gst_bus_set_sync_handler(bus.get(), &VideoRun::on_sync_message, this, nullptr);
    std::string result;
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      MessagePtr message = wait_for(bus.get(), GST_MESSAGE_ERROR, 0);
      result = message ? message_text(message.get()) : "the pipeline did not start";
    }
    bool graph_dumped = false;
    while (result.empty()) {
      MessagePtr message = wait_for(bus.get(), GST_MESSAGE_EOS, 200 * GST_MSECOND);
      if (message && GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS) break;
      if (message) result = message_text(message.get());
      else if (interrupted) result = "interrupted";
      std::size_t frames;
      std::uint64_t faces;
      {
        std::lock_guard<std::mutex> lock(lock_);
        frames = frames_;
        faces = faces_;
        // Ours says more than the pipeline's (and a file without video
        // would otherwise wait forever for a video stream).
        if (!stream_error_.empty()) result = stream_error_;
      }
      if (frames > 0 && !graph_dumped) {  // decodebin's insides are known by now
        dump_pipeline_graph(pipeline_.get(), "gpen-enhance-video");
        graph_dumped = true;
      }
      update_total(progress);
      progress.frames(frames, faces);
    }
    {
      std::lock_guard<std::mutex> lock(lock_);
      progress.frames(frames_, faces_);
    }
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
    const std::string partial = job_.output + ".part";
    if (!result.empty()) {
      std::remove(partial.c_str());
      return result;
    }
    std::error_code fs_error;
    fs::rename(partial, job_.output, fs_error);
    if (fs_error) return "cannot rename " + partial + ": " + fs_error.message();
    return {};
  }

 private:
  GstElement* make(const char* factory) {
    GstElement* element = gst_element_factory_make(factory, nullptr);
    if (!element) {
      if (error_.empty()) error_ = std::string("GStreamer element ") + factory + " is not installed";
      return nullptr;
    }
    gst_bin_add(GST_BIN(pipeline_.get()), element);
    return element;
  }

  // The frame count, once the duration and the frame rate are known.
  void update_total(Progress& progress) {
    if (total_known_) return;
    gint64 duration = 0;
    if (!gst_element_query_duration(pipeline_.get(), GST_FORMAT_TIME, &duration) || duration <= 0)
      return;
    PadPtr pad(gst_element_get_static_pad(gpen_, "sink"));
    CapsPtr caps(gst_pad_get_current_caps(pad.get()));
    GstVideoInfo info;
    if (!caps || !gst_video_info_from_caps(&info, caps.get()) || info.fps_n <= 0) return;
    const double frames = static_cast<double>(duration) / GST_SECOND * info.fps_n / info.fps_d;
    progress.set_total(static_cast<std::size_t>(frames + 0.5));
    total_known_ = true;
  }

  // Stop decoding audio the muxer can take as it is: same sound, no loss.
  static gboolean on_autoplug_continue(GstElement*, GstPad*, GstCaps* caps, gpointer data) {
    auto* self = static_cast<VideoRun*>(data);
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    if (!g_str_has_prefix(gst_structure_get_name(s), "audio/") ||
        gst_structure_has_name(s, "audio/x-raw"))
      return TRUE;
    return !muxer_accepts(self->job_.recipe.muxer, caps);
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
    static_cast<VideoRun*>(data)->link_stream(pad);
  }

  static void on_no_more_pads(GstElement*, gpointer data) {
    auto* self = static_cast<VideoRun*>(data);
    std::lock_guard<std::mutex> lock(self->lock_);
    if (!self->video_linked_ && self->stream_error_.empty())
      self->stream_error_ = "no video stream in the file";
  }

  void link_stream(GstPad* pad) {
    CapsPtr caps(gst_pad_get_current_caps(pad));
    if (!caps) caps.reset(gst_pad_query_caps(pad, nullptr));
    const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
    const std::string media = gst_structure_get_name(s);
    std::lock_guard<std::mutex> lock(lock_);
    if (media == "video/x-raw" && !video_linked_) {
      video_linked_ = gst_pad_link(pad, video_sink_pad_.get()) == GST_PAD_LINK_OK;
      if (!video_linked_) stream_error_ = "cannot link the video stream";
      return;
    }
    if (g_str_has_prefix(media.c_str(), "audio/") && !audio_linked_) {
      audio_linked_ = link_audio(pad, media == "audio/x-raw");
      if (audio_linked_) return;
    }
    // Another stream (subtitles, a second track): dropped.
    add_branch(pad, {"fakesink"}, nullptr);
  }

  bool link_audio(GstPad* pad, bool raw) {
    std::vector<std::string> chain = {"queue"};
    if (raw) {
      if (job_.recipe.audio_encoder.empty()) {
        g_printerr("%s: no audio encoder for %s is installed: the audio is left out\n",
                   job_.name.c_str(), job_.recipe.muxer.c_str());
        return false;
      }
      chain.insert(chain.end(), {"audioconvert", "audioresample", job_.recipe.audio_encoder});
    }
    chain.push_back("queue");
    GstPad* mux_pad = gst_element_request_pad_simple(mux_, "audio_%u");
    if (!mux_pad) return false;
    const bool linked = add_branch(pad, chain, mux_pad);
    // An unlinked request pad would keep the muxer waiting for audio forever.
    if (!linked) gst_element_release_request_pad(mux_, mux_pad);
    gst_object_unref(mux_pad);
    return linked;
  }

  // Adds the elements named in `chain` after `pad`, ending in `into` (or in
  // the last element), and starts them.
  bool add_branch(GstPad* pad, const std::vector<std::string>& chain, GstPad* into) {
    std::vector<GstElement*> elements;
    for (const auto& name : chain) {
      GstElement* element = gst_element_factory_make(name.c_str(), nullptr);
      if (!element) return false;
      if (name == "fakesink") g_object_set(element, "sync", FALSE, "async", FALSE, nullptr);
      gst_bin_add(GST_BIN(pipeline_.get()), element);
      elements.push_back(element);
    }
    for (std::size_t i = 0; i + 1 < elements.size(); ++i)
      if (!gst_element_link(elements[i], elements[i + 1])) return false;
    if (into) {
      PadPtr last(gst_element_get_static_pad(elements.back(), "src"));
      if (gst_pad_link(last.get(), into) != GST_PAD_LINK_OK) return false;
    }
    for (GstElement* element : elements) gst_element_sync_state_with_parent(element);
    PadPtr first(gst_element_get_static_pad(elements.front(), "sink"));
    return gst_pad_link(pad, first.get()) == GST_PAD_LINK_OK;
  }

  static GstBusSyncReply on_sync_message(GstBus*, GstMessage* message, gpointer data) {
    auto* self = static_cast<VideoRun*>(data);
    const GstStructure* s = gst_message_get_structure(message);
    guint faces = 0;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && s &&
        gst_structure_has_name(s, "gpen-faces") && gst_structure_get_uint(s, "faces", &faces)) {
      std::lock_guard<std::mutex> lock(self->lock_);
      ++self->frames_;
      self->faces_ += faces;
      gst_message_unref(message);
      return GST_BUS_DROP;
    }
    return GST_BUS_PASS;
  }

  const VideoJob& job_;
  Pipeline pipeline_;
  GstElement* src_ = nullptr;  // elements are owned by the pipeline
  GstElement* decodebin_ = nullptr;
  GstElement* gpen_ = nullptr;
  GstElement* mux_ = nullptr;
  PadPtr video_sink_pad_;
  std::string error_;
  bool total_known_ = false;

  std::mutex lock_;  // the fields below
  bool video_linked_ = false;
  bool audio_linked_ = false;
  std::string stream_error_;
  std::size_t frames_ = 0;
  std::uint64_t faces_ = 0;
};

}  // namespace

std::string run_video(const VideoJob& job, const Options& options, const ModelPaths& models,
                      Progress& progress, const std::atomic<bool>& interrupted) {
  std::error_code fs_error;
  const fs::path target(job.output);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), fs_error);
  if (fs_error) return "cannot create " + target.parent_path().string() + ": " + fs_error.message();
  VideoRun run(job, options, models);
  return run.run(progress, interrupted);
}

}  // namespace gpen_tools

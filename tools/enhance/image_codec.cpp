#include "image_codec.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "bus.h"
#include "inputs.h"
#include "scaling.h"

namespace gpen_tools {

namespace fs = std::filesystem;

namespace {

// A still image decodes in well under this; a file that takes longer is
// treated as broken rather than stalling the whole run.
constexpr GstClockTime kImageTimeout = 120 * GST_SECOND;

const char* encoder_factory(ImageEncoder encoder) {
  switch (encoder) {
    case ImageEncoder::Jpeg: return "jpegenc";
    case ImageEncoder::Png: return "pngenc";
    case ImageEncoder::Webp: return "webpenc";
  }
  return "pngenc";
}

bool have_element(const char* factory) {
  GstPtr<GstElementFactory> found(gst_element_factory_find(factory));
  return found != nullptr;
}

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The time a buffer spends in an element that handles it in the thread it
// arrives in (videoconvert): from its sink pad to its source pad, summed.
class ElementClock {
 public:
  ElementClock(GstElement* element, std::atomic<long long>& total) : total_(total) {
    GstPad* sink = gst_element_get_static_pad(element, "sink");
    GstPad* src = gst_element_get_static_pad(element, "src");
    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, &ElementClock::entered, this, nullptr);
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, &ElementClock::left, this, nullptr);
    gst_object_unref(sink);
    gst_object_unref(src);
  }
  ElementClock(const ElementClock&) = delete;
  ElementClock& operator=(const ElementClock&) = delete;

 private:
  static GstPadProbeReturn entered(GstPad*, GstPadProbeInfo*, gpointer self) {
    static_cast<ElementClock*>(self)->start_ = now_ns();
    return GST_PAD_PROBE_OK;
  }
  static GstPadProbeReturn left(GstPad*, GstPadProbeInfo*, gpointer self) {
    auto* clock = static_cast<ElementClock*>(self);
    if (clock->start_ >= 0) clock->total_ += now_ns() - clock->start_;
    clock->start_ = -1;
    return GST_PAD_PROBE_OK;
  }
  std::atomic<long long>& total_;
  std::atomic<long long> start_{-1};
};

}  // namespace

DecodedImage decode_image(const std::string& path, int max_size, CodecTimes* times) {
  DecodedImage result;
  std::string error;
  const long long start = now_ns();
  Pipeline pipeline = parse_pipeline(
      "filesrc name=src ! decodebin ! videoconvert name=convert1 ! videoflip video-direction=auto ! "
      "videoscale name=scale ! capsfilter name=size caps=video/x-raw ! videoconvert name=convert2 ! "
      "appsink name=sink sync=false max-buffers=1 caps=video/x-raw,format={RGB,RGBA}",
      error);
  if (!pipeline) {
    result.error = "cannot build a decoding pipeline: " + error;
    return result;
  }
  std::atomic<long long> converting{0};
  ElementClock first(pipeline.child("convert1").get(), converting);
  ElementClock second(pipeline.child("convert2").get(), converting);
  g_object_set(pipeline.child("src").get(), "location", path.c_str(), nullptr);
  if (max_size > 0)
    limit_long_side(pipeline.child("scale").get(), pipeline.child("size").get(), max_size);
  BusPtr bus = pipeline.bus();
  gst_element_set_state(pipeline.get(), GST_STATE_PAUSED);
  MessagePtr message = wait_for(bus.get(), GST_MESSAGE_ASYNC_DONE, kImageTimeout);
  if (!message) {
    result.error = "could not decode it (timed out)";
  } else if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR) {
    result.error = "could not decode it: " + message_text(message.get());
  } else {
    ElementPtr sink = pipeline.child("sink");
    result.sample.reset(gst_app_sink_pull_preroll(GST_APP_SINK(sink.get())));
    if (!result.sample) result.error = "could not decode it: no picture in the file";
  }
  pipeline.reset();
  if (times) {
    times->convert_ns += converting.load();
    times->decode_ns += now_ns() - start - converting.load();
  }
  return result;
}

ImageOutput image_output_for(const std::string& relative, OutputFormat format) {
  const std::string extension = extension_of(relative);
  const bool jpeg = extension == ".jpg" || extension == ".jpeg";
  switch (format) {
    case OutputFormat::Jpeg:
      return {jpeg ? relative : with_extension(relative, ".jpg"), ImageEncoder::Jpeg};
    case OutputFormat::Png:
      return {with_extension(relative, ".png"), ImageEncoder::Png};
    case OutputFormat::Same:
      break;
  }
  if (jpeg) return {relative, ImageEncoder::Jpeg};
  if (extension == ".png") return {relative, ImageEncoder::Png};
  if (extension == ".webp" && have_element("webpenc")) return {relative, ImageEncoder::Webp};
  return {with_extension(relative, ".png"), ImageEncoder::Png};
}

std::string encode_image(GstSample* sample, const std::string& path, ImageEncoder encoder,
                         int quality, CodecTimes* times) {
  const long long start = now_ns();
  std::atomic<long long> converting{0};
  struct Account {  // on every way out
    CodecTimes* times;
    long long start;
    std::atomic<long long>& converting;
    ~Account() {
      if (!times) return;
      times->convert_ns += converting.load();
      times->encode_ns += now_ns() - start - converting.load();
    }
  } account{times, start, converting};
  std::error_code fs_error;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), fs_error);
  if (fs_error) return "cannot create " + target.parent_path().string() + ": " + fs_error.message();
  const std::string partial = path + ".part";

  std::string error;
  Pipeline pipeline = parse_pipeline(std::string("appsrc name=src format=time ! videoconvert name=convert ! ") +
                                         encoder_factory(encoder) +
                                         " name=enc ! filesink name=sink",
                                     error);
  if (!pipeline) return "cannot build an encoding pipeline: " + error;
  const ElementClock clock(pipeline.child("convert").get(), converting);
  ElementPtr enc = pipeline.child("enc");
  if (encoder == ImageEncoder::Png) g_object_set(enc.get(), "compression-level", 1u, nullptr);
  if (encoder == ImageEncoder::Jpeg) g_object_set(enc.get(), "quality", quality, nullptr);
  if (encoder == ImageEncoder::Webp)
    g_object_set(enc.get(), "quality", static_cast<gfloat>(quality), nullptr);
  g_object_set(pipeline.child("sink").get(), "location", partial.c_str(), nullptr);

  BusPtr bus = pipeline.bus();
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    MessagePtr message = wait_for(bus.get(), GST_MESSAGE_ERROR, 0);
    std::remove(partial.c_str());
    return "cannot write " + partial + (message ? ": " + message_text(message.get()) : "");
  }
  ElementPtr src = pipeline.child("src");
  gst_app_src_push_sample(GST_APP_SRC(src.get()), sample);
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  MessagePtr message = wait_for(bus.get(), GST_MESSAGE_EOS, kImageTimeout);
  pipeline.reset();  // closes the file
  if (!message || GST_MESSAGE_TYPE(message.get()) != GST_MESSAGE_EOS) {
    std::remove(partial.c_str());
    return "could not encode it: " + (message ? message_text(message.get()) : "timed out");
  }
  fs::rename(partial, target, fs_error);
  if (fs_error) {
    std::remove(partial.c_str());
    return "cannot rename " + partial + ": " + fs_error.message();
  }
  return {};
}

}  // namespace gpen_tools

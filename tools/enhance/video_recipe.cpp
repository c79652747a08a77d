#include "video_recipe.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "gst_ptr.h"

namespace gpen_tools {

namespace {

// What each container is written with, best first. MP4 and MOV get only the
// codecs every player (GStreamer 1.22's qtdemux included) reads from them;
// Matroska takes everything installed, so it is the fallback.
struct Container {
  std::vector<const char*> extensions;
  const char* muxer;
  std::vector<const char*> video_encoders;
  std::vector<const char*> audio_encoders;
  std::vector<const char*> passthrough;  // audio media types kept as they are; empty: any it takes
};

const std::vector<Container>& containers() {
  static const std::vector<const char*> h264 = {"x264enc", "nvh264enc", "vah264enc",
                                                "vaapih264enc", "openh264enc"};
  static const std::vector<const char*> aac = {"fdkaacenc", "avenc_aac", "voaacenc", "faac"};
  auto join = [](std::vector<const char*> a, const std::vector<const char*>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  static const std::vector<Container> table = {
      {{".mp4", ".m4v"}, "mp4mux", join(h264, {"avenc_mpeg4"}), join(aac, {"lamemp3enc"}),
       {"audio/mpeg", "audio/x-ac3", "audio/x-eac3"}},
      {{".mov"}, "qtmux", join(h264, {"avenc_mpeg4"}), join(aac, {"lamemp3enc"}),
       {"audio/mpeg", "audio/x-ac3", "audio/x-eac3"}},
      {{".mkv"}, "matroskamux", join(h264, {"vp9enc", "vp8enc", "theoraenc"}),
       join({"opusenc", "vorbisenc"}, join(aac, {"flacenc", "lamemp3enc"})), {}},
      {{".webm"}, "webmmux", {"vp9enc", "vp8enc"}, {"opusenc", "vorbisenc"},
       {"audio/x-opus", "audio/x-vorbis"}},
  };
  return table;
}

const Container* container_for(const std::string& extension) {
  for (const auto& container : containers())
    for (const char* e : container.extensions)
      if (extension == e) return &container;
  return nullptr;
}

const Container* container_of_muxer(const std::string& muxer) {
  for (const auto& container : containers())
    if (muxer == container.muxer) return &container;
  return nullptr;
}

using FactoryPtr = GstPtr<GstElementFactory>;

// The caps of a factory's pad template in `direction` whose name starts with `prefix`.
CapsPtr template_caps(GstElementFactory* factory, GstPadDirection direction, const char* prefix) {
  for (const GList* item = gst_element_factory_get_static_pad_templates(factory); item;
       item = item->next) {
    auto* pad = static_cast<GstStaticPadTemplate*>(item->data);
    if (pad->direction == direction && g_str_has_prefix(pad->name_template, prefix))
      return CapsPtr(gst_static_pad_template_get_caps(pad));
  }
  return nullptr;
}

// The first installed encoder whose output the muxer's `kind` pad takes.
std::string first_fitting(const std::vector<const char*>& encoders, GstElementFactory* muxer,
                          const char* kind) {
  CapsPtr sink = template_caps(muxer, GST_PAD_SINK, kind);
  if (!sink) return {};
  for (const char* name : encoders) {
    FactoryPtr encoder(gst_element_factory_find(name));
    if (!encoder) continue;
    CapsPtr src = template_caps(encoder.get(), GST_PAD_SRC, "src");
    if (src && gst_caps_can_intersect(src.get(), sink.get())) return name;
  }
  return {};
}

}  // namespace

std::optional<VideoRecipe> recipe_for_extension(const std::string& extension) {
  const Container* container = container_for(extension);
  if (!container) return std::nullopt;
  FactoryPtr muxer(gst_element_factory_find(container->muxer));
  if (!muxer) return std::nullopt;
  VideoRecipe recipe;
  recipe.extension = extension;
  recipe.muxer = container->muxer;
  recipe.video_encoder = first_fitting(container->video_encoders, muxer.get(), "video");
  recipe.audio_encoder = first_fitting(container->audio_encoders, muxer.get(), "audio");
  if (recipe.video_encoder.empty()) return std::nullopt;
  return recipe;
}

std::optional<VideoRecipe> choose_recipe(const std::string& wanted) {
  if (auto recipe = recipe_for_extension(wanted)) return recipe;
  return recipe_for_extension(".mkv");
}

bool muxer_accepts(const std::string& muxer, GstCaps* caps) {
  if (gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return false;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const Container* container = container_of_muxer(muxer);
  if (!container) return false;
  const auto& allowed = container->passthrough;
  if (!allowed.empty() && std::none_of(allowed.begin(), allowed.end(), [&](const char* type) {
        return gst_structure_has_name(s, type);
      }))
    return false;
  // Whole packets only: a parser says parsed or framed; a demuxer's Vorbis,
  // Opus or FLAC carries its headers in streamheader.
  gboolean parsed = FALSE, framed = FALSE;
  gst_structure_get_boolean(s, "parsed", &parsed);
  gst_structure_get_boolean(s, "framed", &framed);
  if (!parsed && !framed && !gst_structure_has_field(s, "streamheader")) return false;
  FactoryPtr factory(gst_element_factory_find(muxer.c_str()));
  if (!factory) return false;
  CapsPtr sink = template_caps(factory.get(), GST_PAD_SINK, "audio");
  return sink && gst_caps_can_intersect(sink.get(), caps);
}

void configure_video_encoder(GstElement* encoder) {
  GstElementFactory* factory = gst_element_get_factory(encoder);  // not a new reference
  const std::string name = factory ? GST_OBJECT_NAME(factory) : "";
  const auto threads = static_cast<gint>(std::max(1u, std::thread::hardware_concurrency()));
  if (name == "x264enc") {
    // Constant quality (like CRF 18: hard to tell from the source).
    gst_util_set_object_arg(G_OBJECT(encoder), "pass", "qual");
    g_object_set(encoder, "quantizer", 18u, nullptr);
  } else if (name == "vp8enc" || name == "vp9enc") {
    // Constant quality; "realtime" deadline, else VP9 is slower than GPEN.
    gst_util_set_object_arg(G_OBJECT(encoder), "end-usage", "cq");
    g_object_set(encoder, "cq-level", 10, "target-bitrate", 20000000, "deadline",
                 G_GINT64_CONSTANT(1), "cpu-used", 4, "threads", threads, nullptr);
  } else if (name == "openh264enc") {
    g_object_set(encoder, "bitrate", 8000000u, nullptr);
  } else if (name == "theoraenc") {
    g_object_set(encoder, "quality", 56, nullptr);
  }
}

}  // namespace gpen_tools

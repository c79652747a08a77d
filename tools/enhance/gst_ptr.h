// Owning pointers for GStreamer and GLib objects, so that every early return
// and exception releases what it holds.
#pragma once

#include <gst/gst.h>

#include <memory>

namespace gpen_tools {

struct GstObjectUnref {
  void operator()(gpointer object) const {
    if (object) gst_object_unref(object);
  }
};
struct GstMiniObjectUnref {
  void operator()(GstMiniObject* object) const {
    if (object) gst_mini_object_unref(object);
  }
};
struct GFreeDeleter {
  void operator()(gpointer memory) const { g_free(memory); }
};
struct GErrorFree {
  void operator()(GError* error) const {
    if (error) g_error_free(error);
  }
};

template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectUnref>;

using ElementPtr = GstPtr<GstElement>;
using BusPtr = GstPtr<GstBus>;
using PadPtr = GstPtr<GstPad>;
using GCharPtr = std::unique_ptr<gchar, GFreeDeleter>;
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

// Mini objects (messages, samples, caps, buffers) share one deleter.
template <typename T>
struct MiniPtr {
  struct Deleter {
    void operator()(T* object) const {
      if (object) gst_mini_object_unref(GST_MINI_OBJECT_CAST(object));
    }
  };
  using type = std::unique_ptr<T, Deleter>;
};
using MessagePtr = MiniPtr<GstMessage>::type;
using SamplePtr = MiniPtr<GstSample>::type;
using CapsPtr = MiniPtr<GstCaps>::type;

// A pipeline that is set to NULL before it is released, as GStreamer requires.
class Pipeline {
 public:
  Pipeline() = default;
  explicit Pipeline(GstElement* pipeline) : pipeline_(pipeline) {}
  ~Pipeline() { reset(); }
  Pipeline(Pipeline&& other) noexcept : pipeline_(other.pipeline_) { other.pipeline_ = nullptr; }
  Pipeline& operator=(Pipeline&& other) noexcept {
    if (this != &other) {
      reset();
      pipeline_ = other.pipeline_;
      other.pipeline_ = nullptr;
    }
    return *this;
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  GstElement* get() const { return pipeline_; }
  explicit operator bool() const { return pipeline_ != nullptr; }
  // A child by name, owned by the caller.
  ElementPtr child(const char* name) const {
    return ElementPtr(gst_bin_get_by_name(GST_BIN(pipeline_), name));
  }
  BusPtr bus() const { return BusPtr(gst_element_get_bus(pipeline_)); }

  void reset() {
    if (pipeline_) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      gst_object_unref(pipeline_);
      pipeline_ = nullptr;
    }
  }

 private:
  GstElement* pipeline_ = nullptr;
};

}  // namespace gpen_tools

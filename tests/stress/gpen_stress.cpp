// gpen-stress: drives gpenenhance (appsrc ! gpenenhance ! appsink) through
// state changes while frames flow (PLAYING -> PAUSED -> PLAYING, -> READY ->
// PLAYING, flushing seeks, EOS), caps changes mid-stream (size and format),
// odd sizes and strides, and property changes from another thread, and checks
// that every frame that was not flushed comes out once, in order, with the
// bytes the element must not touch (alpha, x, row padding) untouched.
//
//   gpen-stress --model FILE [--mode aligned|full] [--cycles N] [--long]
//               [--huge-frames N] [--soak FRAMES] [--memory-log CSV]
//               [--seed N] [--self-check] [--roi-outcomes]
//               [--passthrough] [--async-sink] [--data DIR]
//               [--device D] [--detector-model FILE] [--stall-seconds N]
//               [--set NAME=VALUE ...] [--streams N] [--batch-size N]
//
// The default is a short run for the test suite; --long runs thousands of
// frames; --huge-frames N (3 with --long) pushes N frames of 7681x4321 in the
// middle of the run; --soak streams FRAMES frames and reports whether memory
// (RSS, the C heap in use, which tells a leak from allocator growth, and CUDA
// device memory when there is one) stays flat after warm-up; --memory-log
// writes the samples as they are taken; --set sets a gpenenhance property
// (e.g. messages=none); --streams N runs N such pipelines at once, in
// threads of one process, their elements sharing one engine
// (model-instance-id): each with its own churn, each checked. Exit status
// 0 when every check held, 1 otherwise, 2 on bad arguments.
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "frame_ledger.h"
#include "memory_sampler.h"
#include "stress_frames.h"
#include "stress_pipeline.h"

namespace {

using namespace std::chrono_literals;
using stress::Content;
using stress::FrameSpec;

struct Options {
  stress::PipelineOptions pipeline;
  std::string data_dir = GPEN_TEST_DATA_DIR;
  int cycles = 40;
  int huge_frames = 0;  // frames of 7681x4321 pushed mid-run
  std::uint64_t soak_frames = 0;
  std::string memory_log;  // CSV of the soak's memory samples
  unsigned seed = 1;
  bool long_run = false;
  bool self_check = false;
  bool roi_outcomes = false;
  int stall_seconds = 300;
  int streams = 1;     // pipelines at once sharing one engine (model-instance-id)
  std::string label;   // which of them, in the reports
};

// What a run did, for the report.
struct Tally {
  std::uint64_t pauses = 0, ready_trips = 0, seeks = 0, eos_barriers = 0, caps_changes = 0;
  std::uint64_t property_changes = 0, property_reads = 0, latency_queries = 0;
  std::uint64_t state_changes() const { return 2 * pauses + 2 * ready_trips + seeks + eos_barriers; }
};

// With GPEN_STRESS_GDB=1, prints every thread's stack (to see who waits on
// whom when a run stalls).
void dump_threads() {
  const char* gdb = std::getenv("GPEN_STRESS_GDB");
  if (!gdb || *gdb != '1') return;
  const std::string command = "gdb -p " + std::to_string(getpid()) + " -batch -ex 'thread apply all bt' 1>&2";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "gpen-stress: gdb failed\n");
}

// A thread that runs `step` again and again until the object is destroyed.
class LoopThread {
 public:
  explicit LoopThread(std::function<void()> step)
      : thread_([this, step = std::move(step)] {
          while (!stop_) step();
        }) {}
  ~LoopThread() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Aborts the run when nothing moves for `seconds`: a deadlock must fail the
// test with a message, not hang it until the test runner's timeout.
class Watchdog {
 public:
  Watchdog(int seconds, std::atomic<std::uint64_t>& progress, const char*& doing)
      : loop_([seconds, &progress, &doing, seen = progress.load(),
               last = std::chrono::steady_clock::now()]() mutable {
          std::this_thread::sleep_for(200ms);
          if (progress != seen) {
            seen = progress;
            last = std::chrono::steady_clock::now();
          } else if (std::chrono::steady_clock::now() - last > std::chrono::seconds(seconds)) {
            std::fprintf(stderr, "gpen-stress: STALL: no progress for %d s while %s\n", seconds, doing);
            std::fflush(stderr);
            dump_threads();
            std::_Exit(1);
          }
        }) {}

 private:
  LoopThread loop_;
};

struct NamedRoi {
  const char* name;
  stress::Roi roi;
};

// Face metas an upstream element might attach to a width x height frame.
std::vector<NamedRoi> odd_rois(int width, int height) {
  const auto w = static_cast<guint>(width), h = static_cast<guint>(height);
  return {
      {"inside", {w / 4, h / 4, w / 2 + 1, h / 2 + 1, {}}},
      {"wholly outside", {w + 10, h + 10, 40, 40, {}}},
      {"partly outside", {w > 5 ? w - 5 : 0, h > 5 ? h - 5 : 0, 100, 100, {}}},
      {"empty box", {0, 0, 0, 0, {}}},
      {"1000 times the frame", {0, 0, w * 1000 + 1, h * 1000 + 1, {}}},
      {"x + w wraps around", {G_MAXUINT - 10, G_MAXUINT - 10, 40, 40, {}}},
      {"landmarks on one point", {1, 1, 20, 20, std::vector<double>(10, 5.0)}},
      {"landmarks at 1e30", {1, 1, 20, 20, {1e30, -1e30, 1e30, 1e30, 0, 0, -1e30, 1e30, 3, 3}}},
      {"landmarks off the frame", {2, 2, 30, 30, {-50, -50, 300, -50, 100, 400, -50, 500, 300, 500}}},
  };
}

class Scenario {
 public:
  Scenario(const Options& o, stress::FrameLedger& ledger, stress::Pipeline& pipeline)
      : o_(o), full_(o.pipeline.mode == "full"), ledger_(ledger), pipeline_(pipeline),
        painter_(o.data_dir), rng_(o.seed) {}

  Tally& tally() { return tally_; }
  std::atomic<std::uint64_t>& progress() { return progress_; }
  const char*& doing() { return doing_; }

  bool start(const FrameSpec& spec) {
    spec_ = spec;
    pipeline_.set_caps(spec_);
    return pipeline_.set_state(GST_STATE_PLAYING);
  }

  // Pushes one frame of the current spec, after waiting for room.
  bool push_frame() {
    doing_ = "waiting for frames to come out";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o_.stall_seconds);
    while (ledger_.pending() >= kMaxPending) {
      if (pipeline_.failed()) return false;  // the error is on the bus: reported
      if (std::chrono::steady_clock::now() > deadline) return stall("frames stopped coming out");
      std::this_thread::sleep_for(1ms);
      pipeline_.handle_latency();
    }
    doing_ = "pushing a frame";
    step("push " + std::to_string(next_id_));
    GstBuffer* frame = painter_.make(spec_, next_id_++, pts_, kFrameDuration);
    pts_ += kFrameDuration;
    ++progress_;
    return pipeline_.push(frame);
  }

  void pause_and_resume() {
    doing_ = "PLAYING -> PAUSED -> PLAYING";
    step("pause-resume");
    pipeline_.set_state(GST_STATE_PAUSED);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 20));
    pipeline_.set_state(GST_STATE_PLAYING);
    ++tally_.pauses;
    ++progress_;
  }

  void change_caps(const FrameSpec& spec) {
    spec_ = spec;
    pipeline_.set_caps(spec_);
    step("caps " + spec.describe());
    ++tally_.caps_changes;
  }

  bool flush_seek() {
    doing_ = "a flushing seek";
    step("flush-seek");
    const bool ok = pipeline_.flush_seek(pts_);
    ledger_.end_epoch();
    ++tally_.seeks;
    ++progress_;
    if (!ok) ledger_.fail("flushing seek refused");
    return ok;
  }

  bool ready_trip() {
    doing_ = "PLAYING -> READY -> PLAYING";
    step("ready-trip");
    if (!pipeline_.set_state(GST_STATE_READY)) ledger_.fail("PLAYING -> READY failed");
    ledger_.end_epoch();
    // READY-only properties take effect on the way back up (not where
    // elements share an engine: theirs must agree).
    if (!o_.pipeline.passthrough && o_.streams == 1)
      g_object_set(pipeline_.enhancer(), "batch-size", 1 + static_cast<guint>(rng_() % 4),
                   "pipeline-depth", static_cast<guint>(rng_() % 3), nullptr);
    const bool ok = pipeline_.set_state(GST_STATE_PLAYING);
    if (!ok) ledger_.fail("READY -> PLAYING failed");
    ++tally_.ready_trips;
    ++progress_;
    return ok;
  }

  // EOS, every frame pushed must come out, then a flushing seek to go on.
  bool eos_barrier(bool then_continue) {
    doing_ = "waiting for EOS";
    step("eos");
    const auto timeout = std::chrono::seconds(o_.stall_seconds);
    if (!pipeline_.end_of_stream(timeout)) return pipeline_.failed() ? false : stall("EOS did not reach the sink");
    if (!ledger_.wait_all_received(timeout)) return stall("frames missing after EOS");
    ++tally_.eos_barriers;
    ++progress_;
    return then_continue ? flush_seek() : true;
  }

  // A frame bigger than 8K UHD with odd sides, in a random format and stride.
  FrameSpec huge_spec() {
    FrameSpec s = random_spec();
    s.width = 7681, s.height = 4321;
    s.content = full_ ? Content::Crowd : Content::Face;
    s.rois.clear();
    return s;
  }

  FrameSpec random_spec() {
    FrameSpec s;
    static const char* formats[] = {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"};
    static const int pads[] = {0, 0, 0, 1, 3, 7, -1};
    s.format = formats[rng_() % 6];
    s.stride_pad = pads[rng_() % 7];
    if (!full_) {
      static const int sizes[][2] = {{64, 64}, {64, 64}, {64, 64}, {1, 1}, {3, 5}, {2, 1}, {1, 2},
                                     {33, 17}, {65, 63}, {127, 3}, {96, 128}};
      const auto& size = sizes[rng_() % (sizeof sizes / sizeof sizes[0])];
      s.width = size[0], s.height = size[1];
      s.content = Content::Face;
      return s;
    }
    static const int sizes[][2] = {{1, 1}, {3, 5}, {33, 17}, {160, 120}, {128, 128}, {192, 192}, {321, 137}};
    const auto& size = sizes[rng_() % (sizeof sizes / sizeof sizes[0])];
    s.width = size[0], s.height = size[1];
    static const Content contents[] = {Content::Blank, Content::Scene, Content::Scene, Content::Crowd};
    s.content = s.width < 100 ? Content::Blank : contents[rng_() % 4];
    if (rng_() % 3 == 0) s.rois = random_rois(s.width, s.height);
    return s;
  }

  // Face boxes from "upstream": inside, partly or wholly outside the frame,
  // empty, huge, wrapping around, with wild landmarks; or a great many.
  std::vector<stress::Roi> random_rois(int width, int height) {
    std::vector<stress::Roi> rois;
    if (rng_() % 6 == 0) {  // a crowd of small faces
      const int n = o_.long_run ? 300 : 120;
      for (int i = 0; i < n; ++i)
        rois.push_back({static_cast<guint>(rng_() % static_cast<unsigned>(width)),
                        static_cast<guint>(rng_() % static_cast<unsigned>(height)), 12, 12, {}});
      return rois;
    }
    const std::vector<NamedRoi> odd = odd_rois(width, height);
    const int count = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < count; ++i) rois.push_back(odd[rng_() % odd.size()].roi);
    return rois;
  }

  std::mt19937& rng() { return rng_; }

 private:
  static constexpr std::uint64_t kMaxPending = 24;
  static constexpr GstClockTime kFrameDuration = GST_SECOND / 25;

  bool stall(const char* what) {
    GstState current = GST_STATE_VOID_PENDING, pending = GST_STATE_VOID_PENDING;
    gst_element_get_state(pipeline_.pipeline(), &current, &pending, 0);
    std::string detail = std::string("stalled: ") + what + " (pipeline " + gst_element_state_get_name(current) +
                         ", pending " + gst_element_state_get_name(pending) + ", " +
                         std::to_string(ledger_.pending()) + " frames pending;";
    for (const char* name : {"source", "enhancer", "sink"}) {
      GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_.pipeline()), name);
      gst_element_get_state(e, &current, &pending, 0);
      detail += std::string(" ") + name + " " + gst_element_state_get_name(current) + "/" +
                gst_element_state_get_name(pending) + ";";
      gst_object_unref(e);
    }
    detail += " last steps:";
    for (const auto& step : trail_) detail += " " + step + ";";
    ledger_.fail(detail + ")");
    dump_threads();
    return false;
  }

  // The last steps taken, for a stall's report.
  void step(std::string what) {
    if (trail_.size() == 16) trail_.pop_front();
    trail_.push_back(std::move(what));
  }

  const Options& o_;
  const bool full_;
  stress::FrameLedger& ledger_;
  stress::Pipeline& pipeline_;
  stress::FramePainter painter_;
  std::mt19937 rng_;
  FrameSpec spec_;
  std::uint64_t next_id_ = 0;
  GstClockTime pts_ = 0;
  Tally tally_;
  std::atomic<std::uint64_t> progress_{0};
  const char* doing_ = "starting";
  std::deque<std::string> trail_;
};

// Changes and reads properties while frames flow, as an application's UI
// thread would; READY-only ones must be refused while running.
class PropertyChanger {
 public:
  // `shared_batch`: elements that share an engine must keep one batch size
  // (0: not shared).
  PropertyChanger(GstElement* pipeline, GstElement* enhancer, bool full, const std::string& model, unsigned seed,
                  Tally& tally, unsigned shared_batch = 0)
      : loop_([=, &tally, rng = std::mt19937(seed)]() mutable {
          switch (rng() % 12) {
            case 0: g_object_set(enhancer, "strength", (rng() % 3) / 2.0, nullptr); break;
            case 1: g_object_set(enhancer, "batch-timeout", static_cast<guint64>(rng() % 3) * 15 * GST_MSECOND, nullptr); break;
            case 2: gst_util_set_object_arg(G_OBJECT(enhancer), "messages", rng() % 2 ? "frame" : "batch"); break;
            case 3:
              g_object_set(enhancer, "batch-size",
                           shared_batch ? shared_batch : 1 + static_cast<guint>(rng() % 4), nullptr);
              break;
            case 4: g_object_set(enhancer, "model", model.c_str(), nullptr); break;
            case 5:
              if (full) g_object_set(enhancer, "denoise", (rng() % 3) / 4.0, "sharpen", (rng() % 3) / 4.0, nullptr);
              break;
            case 6: if (full) g_object_set(enhancer, "max-faces", static_cast<guint>(rng() % 4), nullptr); break;
            case 7: {
              GstQuery* query = gst_query_new_latency();
              gst_element_query(pipeline, query);
              gst_query_unref(query);
              ++tally.latency_queries;
              return;
            }
            default: {
              guint batch = 0;
              gchar* device = nullptr;
              gchar* path = nullptr;
              double strength = 0;
              g_object_get(enhancer, "current-batch-size", &batch, "current-device", &device, "model", &path,
                           "strength", &strength, nullptr);
              g_free(device);
              g_free(path);
              ++tally.property_reads;
              std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 2000));
              return;
            }
          }
          ++tally.property_changes;
          std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 2000));
        }) {}

 private:
  LoopThread loop_;
};

bool report(const char* what, const stress::FrameLedger& ledger, const stress::Pipeline& pipeline, const Tally& t,
            double seconds) {
  const auto c = ledger.counts();
  std::printf("gpen-stress %s: %llu frames pushed, %llu out, %llu flushed, in %.1f s\n", what,
              static_cast<unsigned long long>(c.pushed), static_cast<unsigned long long>(c.received),
              static_cast<unsigned long long>(c.flushed), seconds);
  std::printf("  state changes %llu (pause/resume %llu, READY trips %llu, flushing seeks %llu, EOS %llu), "
              "caps changes %llu, property changes %llu, reads %llu, latency queries %llu, face messages %llu\n",
              static_cast<unsigned long long>(t.state_changes()), static_cast<unsigned long long>(t.pauses),
              static_cast<unsigned long long>(t.ready_trips), static_cast<unsigned long long>(t.seeks),
              static_cast<unsigned long long>(t.eos_barriers), static_cast<unsigned long long>(t.caps_changes),
              static_cast<unsigned long long>(t.property_changes), static_cast<unsigned long long>(t.property_reads),
              static_cast<unsigned long long>(t.latency_queries),
              static_cast<unsigned long long>(pipeline.face_messages()));
  bool ok = true;
  for (const auto& e : pipeline.bus_errors()) {
    std::printf("  ERROR on the bus: %s\n", e.c_str());
    ok = false;
  }
  if (ledger.error_count() > 0) {
    std::printf("  %llu broken promise(s), the first:\n", static_cast<unsigned long long>(ledger.error_count()));
    for (const auto& e : ledger.errors()) std::printf("    %s\n", e.c_str());
    ok = false;
  }
  if (c.received == 0) {
    std::printf("  no frame came out\n");
    ok = false;
  }
  std::printf("gpen-stress %s: %s\n", what, ok ? "PASS" : "FAIL");
  return ok;
}

int run_cycles(const Options& o) {
  stress::FrameLedger ledger;
  stress::Pipeline pipeline(o.pipeline, ledger);
  Scenario scenario(o, ledger, pipeline);
  Watchdog watchdog(2 * o.stall_seconds, scenario.progress(), scenario.doing());
  const auto start = std::chrono::steady_clock::now();
  std::mt19937& rng = scenario.rng();
  bool ok = scenario.start(scenario.random_spec());
  {
    std::optional<PropertyChanger> changer;
    if (!o.pipeline.passthrough)
      changer.emplace(pipeline.pipeline(), pipeline.enhancer(), o.pipeline.mode == "full", o.pipeline.model,
                      o.seed + 1, scenario.tally(), o.streams > 1 ? o.pipeline.batch_size : 0);
    for (int cycle = 0; ok && cycle < o.cycles; ++cycle) {
      if (o.huge_frames > 0 && cycle == o.cycles / 2) {
        scenario.change_caps(scenario.huge_spec());
        for (int i = 0; ok && i < o.huge_frames; ++i) ok = scenario.push_frame();
        if (ok) ok = scenario.eos_barrier(true);
        scenario.change_caps(scenario.random_spec());
      }
      if (rng() % 3 == 0) scenario.change_caps(scenario.random_spec());
      const int frames = 3 + static_cast<int>(rng() % 8);
      for (int i = 0; ok && i < frames; ++i) {
        if (rng() % 10 == 0) scenario.pause_and_resume();
        if (rng() % 14 == 0) scenario.change_caps(scenario.random_spec());
        ok = scenario.push_frame();
      }
      if (!ok) break;
      // Let some frames through before the next flush, now and then.
      if (rng() % 2 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
      switch (rng() % 5) {
        case 0: ok = scenario.eos_barrier(true); break;
        case 1: ok = scenario.flush_seek(); break;
        case 2: ok = scenario.ready_trip(); break;
        default: break;  // the next cycle's frames follow these without a break
      }
    }
  }
  // Everything still pending must come out.
  if (ok) ok = scenario.eos_barrier(false);
  pipeline.set_state(GST_STATE_NULL);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string what = std::string(o.long_run ? "long" : "short") + o.label;
  return report(what.c_str(), ledger, pipeline, scenario.tally(), seconds) && ok ? 0 : 1;
}

// --streams N: N pipelines at once, their elements sharing one engine, each
// with its own churn (seed); every one must pass.
int run_streams(const Options& o) {
  std::vector<int> status(static_cast<std::size_t>(o.streams), 1);
  std::vector<std::thread> threads;
  for (int s = 0; s < o.streams; ++s)
    threads.emplace_back([&, s] {
      Options mine = o;
      mine.seed = o.seed + 1000 * static_cast<unsigned>(s);
      mine.label = " stream " + std::to_string(s);
      mine.pipeline.element_settings.insert(mine.pipeline.element_settings.begin(),
                                            "model-instance-id=gpen-stress");
      try {
        status[s] = run_cycles(mine);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gpen-stress stream %d: %s\n", s, e.what());
      }
    });
  for (auto& thread : threads) thread.join();
  const bool ok = std::all_of(status.begin(), status.end(), [](int v) { return v == 0; });
  std::printf("gpen-stress %d streams sharing one engine: %s\n", o.streams, ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

// Steady streaming of one kind of frame, with the occasional state change,
// sampling memory as it goes.
int run_soak(const Options& o) {
  stress::FrameLedger ledger;
  stress::Pipeline pipeline(o.pipeline, ledger);
  Scenario scenario(o, ledger, pipeline);
  Watchdog watchdog(2 * o.stall_seconds, scenario.progress(), scenario.doing());
  FrameSpec spec;
  if (o.pipeline.mode == "full") {
    spec.width = 192, spec.height = 192, spec.content = Content::Scene;
  }
  const auto start = std::chrono::steady_clock::now();
  stress::MemorySampler memory;
  if (!o.memory_log.empty() && !memory.log_to(o.memory_log)) {
    std::fprintf(stderr, "gpen-stress: cannot write %s\n", o.memory_log.c_str());
    return 1;
  }
  memory.sample(0);
  bool ok = scenario.start(spec);
  std::mt19937& rng = scenario.rng();
  const std::uint64_t every = std::max<std::uint64_t>(o.soak_frames / 200, 10);
  for (std::uint64_t n = 1; ok && n <= o.soak_frames; ++n) {
    ok = scenario.push_frame();
    if (n % 250 == 0) {
      switch (rng() % 4) {
        case 0: scenario.pause_and_resume(); break;
        case 1: ok = scenario.flush_seek(); break;
        case 2: ok = scenario.ready_trip(); break;
        default: ok = scenario.eos_barrier(true); break;
      }
    }
    if (n % every == 0) memory.sample(n);
  }
  if (ok) ok = scenario.eos_barrier(false);
  memory.sample(o.soak_frames);
  pipeline.set_state(GST_STATE_NULL);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string memory_report;
  const bool flat = memory.flat(0.2, 16u << 20, &memory_report);
  std::printf("gpen-stress soak: %s: %s\n", flat ? "memory flat" : "MEMORY GROWS", memory_report.c_str());
  return report("soak", ledger, pipeline, scenario.tally(), seconds) && ok && flat ? 0 : 1;
}

// Proves that the checks can fail: a probe after the element drops one frame
// and scribbles on the row padding of another; both must be reported.
int run_self_check(const Options& o) {
  stress::FrameLedger ledger;
  stress::Pipeline pipeline(o.pipeline, ledger);
  Scenario scenario(o, ledger, pipeline);
  GstPad* src = gst_element_get_static_pad(pipeline.enhancer(), "src");
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER,
                    [](GstPad*, GstPadProbeInfo* info, gpointer) {
                      GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
                      if (GST_BUFFER_OFFSET(buffer) == 6) return GST_PAD_PROBE_DROP;
                      if (GST_BUFFER_OFFSET(buffer) == 9) {
                        buffer = gst_buffer_make_writable(buffer);
                        GST_PAD_PROBE_INFO_DATA(info) = buffer;
                        const gsize size = gst_buffer_get_size(buffer);
                        const guint8 scribble = 0;
                        gst_buffer_fill(buffer, size - 1, &scribble, 1);  // the last row's padding
                      }
                      return GST_PAD_PROBE_OK;
                    },
                    nullptr, nullptr);
  gst_object_unref(src);
  FrameSpec spec;
  spec.width = 3, spec.height = 5, spec.stride_pad = 3;
  bool ok = scenario.start(spec);
  for (int i = 0; ok && i < 12; ++i) ok = scenario.push_frame();
  if (ok) ok = scenario.eos_barrier(false);
  pipeline.set_state(GST_STATE_NULL);
  bool lost = false, damaged = false;
  for (const auto& e : ledger.errors()) {
    lost = lost || e == "frame 6 lost: frame 7 arrived first";
    damaged = damaged || e.rfind("frame 9 damaged: byte 14 of row 4 (padding)", 0) == 0;
  }
  std::printf("gpen-stress self-check: dropped frame %s, damaged frame %s (%llu errors)\n",
              lost ? "reported" : "NOT REPORTED", damaged ? "reported" : "NOT REPORTED",
              static_cast<unsigned long long>(ledger.error_count()));
  return ok && lost && damaged && ledger.error_count() == 2 ? 0 : 1;
}

// Full mode: each kind of odd face meta on its own, in a fresh pipeline, on
// frames of one face with the face meta and frames around it without; says
// what became of it. Every kind must leave the stream running and every frame
// coming out.
int run_roi_outcomes(Options o) {
  o.pipeline.mode = "full";
  int failures = 0;
  for (const NamedRoi& kind : odd_rois(192, 192)) {
    stress::FrameLedger ledger;
    stress::Pipeline pipeline(o.pipeline, ledger);
    Scenario scenario(o, ledger, pipeline);
    FrameSpec plain;
    plain.width = plain.height = 192;
    plain.content = Content::Scene;
    FrameSpec odd = plain;
    odd.rois = {kind.roi};
    bool ok = scenario.start(plain) && scenario.push_frame();
    scenario.change_caps(odd);  // same caps: only the metas differ
    for (int i = 0; ok && i < 2; ++i) ok = scenario.push_frame();
    scenario.change_caps(plain);
    if (ok) ok = scenario.push_frame();
    if (ok) ok = scenario.eos_barrier(false);
    pipeline.set_state(GST_STATE_NULL);
    const auto errors = pipeline.bus_errors();
    const bool good = ok && errors.empty() && ledger.error_count() == 0 && ledger.counts().received == 4;
    std::printf("  face meta %-24s %s%s\n", kind.name, good ? "handled" : "STREAM BROKEN",
                errors.empty() ? "" : (": " + errors.front()).c_str());
    if (!good) ++failures;
  }
  std::printf("gpen-stress roi-outcomes: %d kind(s) of face meta break the stream\n", failures);
  return failures == 0 ? 0 : 1;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") o.pipeline.model = value();
    else if (arg == "--mode") o.pipeline.mode = value();
    else if (arg == "--device") o.pipeline.device = value();
    else if (arg == "--detector-model") o.pipeline.detector_model = value();
    else if (arg == "--data") o.data_dir = value();
    else if (arg == "--cycles") o.cycles = std::stoi(value());
    else if (arg == "--seed") o.seed = static_cast<unsigned>(std::stoul(value()));
    else if (arg == "--soak") o.soak_frames = std::stoull(value());
    else if (arg == "--memory-log") o.memory_log = value();
    else if (arg == "--set") o.pipeline.element_settings.push_back(value());
    else if (arg == "--stall-seconds") o.stall_seconds = std::stoi(value());
    else if (arg == "--long") o.long_run = true, o.cycles = 1500, o.huge_frames = std::max(o.huge_frames, 3);
    else if (arg == "--huge-frames") o.huge_frames = std::stoi(value());
    else if (arg == "--self-check") o.self_check = true;
    else if (arg == "--roi-outcomes") o.roi_outcomes = true;
    else if (arg == "--streams") o.streams = std::max(1, std::stoi(value()));
    else if (arg == "--batch-size") o.pipeline.batch_size = static_cast<unsigned>(std::max(1, std::stoi(value())));
    else if (arg == "--passthrough") o.pipeline.passthrough = true;
    else if (arg == "--async-sink") o.pipeline.async_sink = true;
    else throw std::invalid_argument("unknown argument " + arg);
  }
  if (o.pipeline.model.empty()) throw std::invalid_argument("--model is required");
  if (o.pipeline.mode != "aligned" && o.pipeline.mode != "full") throw std::invalid_argument("--mode aligned|full");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options o;
  try {
    parse(argc, argv, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpen-stress: %s\n", e.what());
    return 2;
  }
  std::printf("gpen-stress: mode %s, device %s, seed %u\n", o.pipeline.mode.c_str(), o.pipeline.device.c_str(),
              o.seed);
  std::fflush(stdout);
  int status = 0;
  try {
    if (o.self_check)
      status = run_self_check(o);
    else if (o.roi_outcomes)
      status = run_roi_outcomes(o);
    else if (o.soak_frames > 0)
      status = run_soak(o);
    else if (o.streams > 1)
      status = run_streams(o);
    else
      status = run_cycles(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpen-stress: %s\n", e.what());
    status = 1;
  }
  gst_deinit();
  return status;
}

#include "streams_mode.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {

using Clock = std::chrono::steady_clock;

// VmRSS or VmHWM of this process, in MiB.
double proc_status_mib(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::atof(line.c_str() + std::strlen(key)) / 1024.0;
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

struct StreamTimes {
  std::mutex lock;
  std::vector<Clock::time_point> pushed;
  std::vector<double> latency_ms;
};

GstFlowReturn on_sample(GstAppSink* sink, gpointer data) {
  auto* times = static_cast<StreamTimes*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  const auto now = Clock::now();
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  const guint64 index = GST_BUFFER_OFFSET(buffer);
  {
    std::lock_guard<std::mutex> guard(times->lock);
    if (index < times->pushed.size())
      times->latency_ms.push_back(
          std::chrono::duration<double, std::milli>(now - times->pushed[index]).count());
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// One row, in this process: prints "| ... |".
int run_row(const StreamsBench& bench, int streams, bool shared) {
  cv::Mat bgr = cv::imread(bench.input, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::invalid_argument("cannot read the image " + bench.input);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const bool aligned = bench.face_mode == "aligned";
  if (aligned) cv::resize(rgb, rgb, cv::Size(bench.size, bench.size), 0, 0, cv::INTER_AREA);
  rgb = rgb.clone();
  const double rss_before = proc_status_mib("VmRSS:");

  std::string launch;
  for (int s = 0; s < streams; ++s) {
    launch += "appsrc name=src" + std::to_string(s) +
              " is-live=true format=time caps=video/x-raw,format=RGB,width=" +
              std::to_string(rgb.cols) + ",height=" + std::to_string(rgb.rows) +
              ",framerate=" + std::to_string(bench.fps) + "/1 ! gpenenhance name=gpen" +
              std::to_string(s) + " model=\"" + bench.model + "\" device=" + bench.device +
              " face-mode=" + bench.face_mode + " batch-size=" + std::to_string(bench.batch_size) +
              " batch-timeout=" +
              std::to_string(static_cast<guint64>(bench.batch_timeout_ms * 1e6)) +
              (shared ? " model-instance-id=bench" : "") + " ! appsink name=sink" +
              std::to_string(s) + " sync=false ";
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline) throw std::runtime_error(error ? error->message : "gst_parse_launch failed");
  std::vector<StreamTimes> times(static_cast<std::size_t>(streams));
  std::vector<GstElement*> sources;
  for (int s = 0; s < streams; ++s) {
    const std::string n = std::to_string(s);
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), ("sink" + n).c_str());
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &times[s], nullptr);
    gst_object_unref(sink);
    sources.push_back(gst_bin_get_by_name(GST_BIN(pipeline), ("src" + n).c_str()));
    times[s].pushed.resize(static_cast<std::size_t>(bench.frames));
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    throw std::runtime_error("the pipeline does not start (a model or property error?)");
  // The models are loaded by now (each element's start, READY -> PAUSED);
  // the live sinks complete PLAYING only once frames come.
  const double rss_loaded = proc_status_mib("VmRSS:");

  // The cameras: each pushes its frames at the frame rate.
  const auto period = std::chrono::nanoseconds(1000000000LL / bench.fps);
  const auto start = Clock::now();
  std::vector<std::thread> feeders;
  for (int s = 0; s < streams; ++s)
    feeders.emplace_back([&, s] {
      const gsize bytes = rgb.total() * rgb.elemSize();
      for (int f = 0; f < bench.frames; ++f) {
        std::this_thread::sleep_until(start + f * period);
        GstBuffer* buffer = gst_buffer_new_allocate(nullptr, bytes, nullptr);
        gst_buffer_fill(buffer, 0, rgb.data, bytes);
        GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(f) * GST_SECOND / bench.fps;
        GST_BUFFER_DURATION(buffer) = GST_SECOND / bench.fps;
        GST_BUFFER_OFFSET(buffer) = static_cast<guint64>(f);
        {
          std::lock_guard<std::mutex> guard(times[s].lock);
          times[s].pushed[f] = Clock::now();
        }
        if (gst_app_src_push_buffer(GST_APP_SRC(sources[s]), buffer) != GST_FLOW_OK) break;
      }
      gst_app_src_end_of_stream(GST_APP_SRC(sources[s]));
    });

  // Until EOS: the engines' stats (a shared engine's, from each of its
  // elements, cumulative: the largest; private ones: summed).
  guint64 faces_sum = 0, batches_sum = 0, faces_max = 0, batches_max = 0;
  int status = 0;
  for (bool done = false; !done;) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 600 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (!m) {
      std::fprintf(stderr, "timed out\n");
      status = 1;
      break;
    }
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "error: %s\n", e->message);
      g_error_free(e);
      status = 1;
      done = true;
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
      done = true;
    } else if (const GstStructure* st = gst_message_get_structure(m);
               st && gst_structure_has_name(st, "gpen-stats")) {
      guint64 faces = 0, batches = 0;
      gst_structure_get_uint64(st, "faces", &faces);
      gst_structure_get_uint64(st, "batches", &batches);
      faces_sum += faces, batches_sum += batches;
      faces_max = std::max(faces_max, faces), batches_max = std::max(batches_max, batches);
    }
    gst_message_unref(m);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& feeder : feeders) feeder.join();
  const double rss_peak = proc_status_mib("VmHWM:");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  for (auto* source : sources) gst_object_unref(source);
  gst_object_unref(bus);
  gst_object_unref(pipeline);

  const guint64 faces = shared ? faces_max : faces_sum;
  const guint64 batches = shared ? batches_max : batches_sum;
  std::vector<double> all;
  double worst_p99 = 0;
  std::size_t frames_out = 0;
  for (auto& t : times) {
    frames_out += t.latency_ms.size();
    all.insert(all.end(), t.latency_ms.begin(), t.latency_ms.end());
    worst_p99 = std::max(worst_p99, percentile(t.latency_ms, 0.99));
  }
  std::printf("| %d | %s | %zu | %llu | %llu | %.2f | %.1f | %.2f | %.1f | %.1f | %.1f | %.0f | %.0f |\n",
              streams, shared ? "on" : "off", frames_out, static_cast<unsigned long long>(faces),
              static_cast<unsigned long long>(batches), wall, faces / std::max(wall, 1e-9),
              batches ? static_cast<double>(faces) / batches : 0.0, percentile(all, 0.5),
              percentile(all, 0.99), worst_p99, rss_loaded - rss_before, rss_peak);
  std::fflush(stdout);
  if (frames_out != static_cast<std::size_t>(streams) * bench.frames) status = 1;
  return status;
}

}  // namespace

int run_streams_mode(const StreamsBench& bench) {
  if (bench.model.empty()) throw std::invalid_argument("--mode streams needs --model FILE");
  if (bench.input.empty()) throw std::invalid_argument("--mode streams needs --input IMAGE");
  if (bench.row_only) {
    gst_init(nullptr, nullptr);
    return run_row(bench, bench.streams.at(0), bench.shared.at(0) == "on");
  }
  std::printf("# streams: %d frames per stream at %d fps (live appsrc, %s), face-mode=%s%s, "
              "batch-size %d, batch-timeout %.0f ms, device %s; %s\n",
              bench.frames, bench.fps, bench.input.c_str(), bench.face_mode.c_str(),
              bench.face_mode == "aligned" ? (" " + std::to_string(bench.size) + "x" +
                                              std::to_string(bench.size)).c_str()
                                           : "",
              bench.batch_size, bench.batch_timeout_ms, bench.device.c_str(), bench.model.c_str());
  std::printf("# latency: appsrc push to appsink, per frame; worst p99: the worst stream's; "
              "RSS: the process's resident memory the pipeline added once playing, MiB, and "
              "its peak (VmHWM)\n");
  std::printf("| streams | shared | frames | faces | batches | wall s | faces/s | faces/batch "
              "| p50 ms | p99 ms | worst p99 ms | RSS added MiB | peak RSS MiB |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  int status = 0;
  for (const int streams : bench.streams)
    for (const auto& shared : bench.shared) {
      // Each row in a process of its own: its memory is its own.
      std::string command = "'" + bench.self + "' --mode streams --row-only --model '" +
                            bench.model + "' --input '" + bench.input + "' --device " +
                            bench.device + " --face-mode " + bench.face_mode + " --size " +
                            std::to_string(bench.size) + " --streams " + std::to_string(streams) +
                            " --shared " + shared + " --batches " +
                            std::to_string(bench.batch_size) + " --frames " +
                            std::to_string(bench.frames) + " --fps " + std::to_string(bench.fps) +
                            " --batch-timeout-ms " + std::to_string(bench.batch_timeout_ms);
      if (std::system(command.c_str()) != 0) status = 1;
    }
  return status;
}

#include "gstgpenload.h"

#include "batch_size_measurement.h"

#include "runtime/device.h"
#include "runtime/error.h"


std::optional<torch::Device> gpen_resolve_device(GstElement* element, const std::string& device) {
  try {
    return gpen::resolve_device(gpen::DeviceRequest::parse(device));
  } catch (const gpen::Error& e) {
    GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("Unsupported device '%s'", device.c_str()),
                      ("%s", e.what()));
    return std::nullopt;
  }
}

void gpen_post_load_error(GstElement* element, const char* what, const std::string& path,
                          const std::string& reason) {
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND,
                      ("Could not load %s '%s': file not found", what, path.c_str()),
                      ("no such file: %s", path.c_str()));
    return;
  }
  // Core errors start with the file's path; others get it here.
  const std::string message =
      reason.compare(0, path.size(), path) == 0 ? reason : path + ": " + reason;
  GST_ELEMENT_ERROR(element, RESOURCE, READ, ("Could not load %s %s", what, message.c_str()),
                    ("%s", reason.c_str()));
}

std::unique_ptr<gpen::FaceDetector> gpen_create_detector(GstElement* element,
                                                         const GpenDetectorSettings& settings,
                                                         torch::Device device) {
  const gpen::DetectorOptions options = settings.options();
  if (options.kind == gpen::DetectorKind::RetinaFace && options.model_path.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No RetinaFace model given"),
                      ("detector=retinaface needs 'detector-model' set to a RetinaFace .pth file"));
    return nullptr;
  }
  const bool has_model = !options.model_path.empty() && options.kind != gpen::DetectorKind::Cascade;
  if (has_model && !g_file_test(options.model_path.c_str(), G_FILE_TEST_EXISTS)) {
    gpen_post_load_error(element, "face detector model", options.model_path, "file not found");
    return nullptr;
  }
  try {
    return gpen::make_face_detector(options, device);
  } catch (const std::exception& e) {
    if (has_model)
      gpen_post_load_error(element, "face detector model", options.model_path, e.what());
    else
      GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("Could not load the face detector"),
                        ("%s", e.what()));
    return nullptr;
  }
}

bool gpen_create_detection(GstElement* element, const GpenDetectorSettings& settings,
                           guint threads, torch::Device device,
                           std::unique_ptr<gpen::FaceDetector>& detector,
                           std::unique_ptr<gpen::DetectionPool>& pool) {
  auto first = gpen_create_detector(element, settings, device);
  if (!first) return false;
  if (threads == 0) {
    GST_INFO_OBJECT(element, "faces of frames without face metas: %s", first->describe().c_str());
    detector = std::move(first);
    return true;
  }
  std::vector<std::unique_ptr<gpen::FaceDetector>> detectors;
  detectors.push_back(std::move(first));
  while (detectors.size() < threads) {
    auto more = gpen_create_detector(element, settings, device);
    if (!more) return false;
    detectors.push_back(std::move(more));
  }
  pool = std::make_unique<gpen::DetectionPool>(std::move(detectors));
  GST_INFO_OBJECT(element, "faces of frames without face metas: %s", pool->describe().c_str());
  return true;
}

std::unique_ptr<gpen::FaceEnhancer> gpen_load_enhancer(GstElement* element,
                                                       const std::string& path,
                                                       torch::Device device,
                                                       gpen::Precision precision,
                                                       int& batch_size) {
  if (path.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No GPEN model given"),
                      ("set the 'model' property to a GPEN-BFR-*.pth file"));
    return nullptr;
  }
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    gpen_post_load_error(element, "GPEN model", path, "file not found");
    return nullptr;
  }
  try {
    auto enhancer = std::make_unique<gpen::FaceEnhancer>(path, device, precision);
    const bool automatic = batch_size <= 0;
    if (automatic) batch_size = gpen::automatic_batch_size(*enhancer).batch;
    GST_INFO_OBJECT(element, "loaded %s (%s) on %s, batch size %d%s", path.c_str(),
                    enhancer->generator().config().describe().c_str(), device.str().c_str(),
                    batch_size, automatic ? " (automatic)" : "");
    return enhancer;
  } catch (const std::exception& e) {
    gpen_post_load_error(element, "GPEN model", path, e.what());
    return nullptr;
  }
}

/* Start-up steps the gpen elements share, reporting failures as element
 * errors that name the file or setting and the reason. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <optional>
#include <string>

#include <torch/types.h>

#include "face_enhancer.h"
#include "faces/detection_pool.h"
#include "faces/face_detector.h"
#include "gstgpendetectorprops.h"

/* The device a `device` property asks for; nullopt after posting an error
 * when it cannot be honoured (unknown text, no CUDA, too few devices). */
std::optional<torch::Device> gpen_resolve_device(GstElement* element, const std::string& device);

/* The detector the properties ask for, on `device`; null after posting an
 * error naming the model file when it is missing or does not load. */
std::unique_ptr<gpen::FaceDetector> gpen_create_detector(GstElement* element,
                                                         const GpenDetectorSettings& settings,
                                                         torch::Device device);

/* Loads the GPEN model at `path` for `device`; `batch_size` 0 becomes the
 * automatic batch size. Null after posting an error naming the file (no
 * model given, not found, unreadable, corrupt or not GPEN). */
std::unique_ptr<gpen::FaceEnhancer> gpen_load_enhancer(GstElement* element,
                                                       const std::string& path,
                                                       torch::Device device,
                                                       gpen::Precision precision,
                                                       int& batch_size);

/* Full mode's detection: `detector` the properties ask for, or with
 * `threads` > 0 a pool of that many detection workers, each with a detector
 * of its own, that search the next frames while the network runs. False
 * after posting an error. */
bool gpen_create_detection(GstElement* element, const GpenDetectorSettings& settings,
                           guint threads, torch::Device device,
                           std::unique_ptr<gpen::FaceDetector>& detector,
                           std::unique_ptr<gpen::DetectionPool>& pool);

/* Posts "Could not load <what> <path>: <reason>" as a RESOURCE error, with the
 * path prefixed to the reason unless the reason starts with it already. */
void gpen_post_load_error(GstElement* element, const char* what, const std::string& path,
                          const std::string& reason);

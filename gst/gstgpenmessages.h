/* gpenenhance's element messages: the faces restored in the frames pushed,
 * one "gpen-faces" message per frame or one "gpen-batch" per group of frames
 * pushed together (property `messages`). */
#pragma once

#include <gst/gst.h>

#include <utility>
#include <vector>

#include "faces/face.h"
#include "gstgpenenhance.h"
#include "pipeline_stats.h"

/* Frames that leave together, with the faces restored in each. */
using GpenFacesOfFrames = std::vector<std::pair<GstBuffer*, std::vector<gpen::FaceDetection>>>;

/* Posts the messages `mode` asks for; `segment` gives the running and stream
 * times of the frames' timestamps. */
void gpen_post_faces(GstElement* element, const GstSegment* segment, GstGpenMessages mode,
                     const GpenFacesOfFrames& frames);

/* Posts "gpen-stats" (at EOS): where the stream's time went, as busy seconds
 * per stage (pipeline_stats.h's names), with frames, faces, batches, the
 * detection threads and the wall time since the first frame. */
void gpen_post_stats(GstElement* element, const gpen::PipelineStats& stats,
                     guint detection_threads);

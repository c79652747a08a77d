/* Sink pad event handling shared by the gpen transforms. */
#pragma once

#include <gst/base/gstbasetransform.h>

/* Makes an event that `trans` cannot forward because its source pad is
 * flushing come back upstream as GST_FLOW_FLUSHING, as a buffer there does,
 * instead of as an error.
 *
 * A bin takes its children to READY from the sink up, so the source pad is
 * already inactive while the sink pad still takes events from upstream's
 * streaming thread; the same holds for a moment during a flushing seek.
 * GstBaseTransform then fails the sticky event it forwards (segment, caps),
 * the core turns that into GST_FLOW_ERROR or GST_FLOW_NOT_NEGOTIATED, and a
 * GstBaseSrc upstream posts "Internal data stream error" for a stream that
 * was only being stopped or flushed. Events still go through the class's
 * sink_event, as with GstBaseTransform's own pad function. Call from _init. */
void gpen_transform_flush_unforwardable_events(GstBaseTransform* trans);

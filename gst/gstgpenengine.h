/* gpenenhance's model-instance-id: elements with the same id share one
 * gpen::SharedEngine (src/engine/), made by the first of them to start. The
 * properties that make an engine must agree among them. */
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "engine/engine_registry.h"

/* The values of the element's properties that make an engine (model,
 * device, precision, face mode, batch size, pipeline depth, detection),
 * as text. */
gpen::EngineSettings gpen_engine_settings(GObject* object);

/* The engine of `id`: joined when one is alive and its makers' properties
 * agree (else an element error naming both elements and the property, and
 * null), else made by `create` (null after it posted its error). */
std::shared_ptr<gpen::SharedEngine> gpen_acquire_engine(
    GstElement* element, const std::string& id,
    const std::function<std::shared_ptr<gpen::SharedEngine>()>& create);

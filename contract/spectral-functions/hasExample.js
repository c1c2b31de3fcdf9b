// Spectral function: the operation exemplifies what it exchanges (see portcullis-operation-example in
// ../spectral.yaml). Runs on the resolved document, so examples of referenced schemas count.

function mediaHasExample(media) {
  if (!media || typeof media !== "object") return false;
  if (media.example !== undefined || (media.examples && Object.keys(media.examples).length > 0)) return true;
  return schemaHasExample(media.schema, 0);
}

function schemaHasExample(schema, depth) {
  if (!schema || typeof schema !== "object" || depth > 3) return false;
  if (schema.example !== undefined || (Array.isArray(schema.examples) && schema.examples.length > 0)) return true;
  // A list page is exemplified by an example of its items.
  if (schema.properties?.items) return schemaHasExample(schema.properties.items, depth + 1);
  if (schema.type === "array" || (Array.isArray(schema.type) && schema.type.includes("array"))) {
    return schemaHasExample(schema.items, depth + 1);
  }
  // Plain text (metrics, CSV export) needs a media example; a bare string schema is not one.
  return false;
}

function parameterHasExample(parameter) {
  return (
    parameter?.example !== undefined ||
    (parameter?.examples && Object.keys(parameter.examples).length > 0) ||
    schemaHasExample(parameter?.schema, 0)
  );
}

export default function hasExample(operation, _options, context) {
  const problems = [];
  let bodies = 0;
  for (const [type, media] of Object.entries(operation?.requestBody?.content ?? {})) {
    bodies += 1;
    if (!mediaHasExample(media)) {
      problems.push({ message: `the ${type} request body has no example`, path: [...context.path, "requestBody", "content", type] });
    }
  }
  for (const [code, response] of Object.entries(operation?.responses ?? {})) {
    if (!/^2/.test(code)) continue;
    for (const [type, media] of Object.entries(response?.content ?? {})) {
      bodies += 1;
      if (!mediaHasExample(media)) {
        problems.push({
          message: `the ${code} ${type} response has no example`,
          path: [...context.path, "responses", code, "content", type],
        });
      }
    }
  }
  if (bodies === 0 && !(operation?.parameters ?? []).some(parameterHasExample)) {
    problems.push({ message: "the operation has no body and no parameter with an example", path: [...context.path] });
  }
  return problems;
}

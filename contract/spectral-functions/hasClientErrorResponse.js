// Spectral function: the operation documents at least one 4XX response (e.g. 400, 404, 422 or 4XX).
// An operation that takes no input at all (no parameters, no body, and explicitly no authentication:
// `security: [{}]`, like /healthz) cannot be answered with a client error, so it is exempt.
function takesNoInput(operation) {
  const anonymous =
    Array.isArray(operation?.security) &&
    operation.security.length > 0 &&
    operation.security.every((requirement) => Object.keys(requirement ?? {}).length === 0);
  return anonymous && (operation?.parameters ?? []).length === 0 && operation?.requestBody === undefined;
}

export default function hasClientErrorResponse(operation, _options, context) {
  const codes = Object.keys(operation?.responses ?? {});
  if (codes.some((code) => /^4(\d\d|XX)$/i.test(code)) || takesNoInput(operation)) return [];
  return [{ message: "the operation documents no 4XX response", path: [...context.path, "responses"] }];
}

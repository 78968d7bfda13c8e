/**
 * How a call ended, as the balancers count it: an HTTP status code, or LOCAL_ORIGIN_FAILURE when
 * no response came from the endpoint at all (connect failure, reset, timeout). gRPC statuses are
 * mapped to HTTP codes first, as Envoy does for outlier detection.
 */
export const LOCAL_ORIGIN_FAILURE = 0;

/** A 5xx response or a local-origin failure: counts toward consecutive_5xx and against the success rate. */
export function isFailure(status: number): boolean {
  return status === LOCAL_ORIGIN_FAILURE || (status >= 500 && status <= 599);
}

/** 502, 503, 504 or a local-origin failure: counts toward consecutive_gateway_failure. */
export function isGatewayFailure(status: number): boolean {
  return status === LOCAL_ORIGIN_FAILURE || status === 502 || status === 503 || status === 504;
}

/** The HTTP status gRPC's HTTP mapping gives a gRPC status code (unknown codes: 500). */
const GRPC_TO_HTTP = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusForGrpc(code: number): number {
  return GRPC_TO_HTTP[code] ?? 500;
}

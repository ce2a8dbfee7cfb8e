export { HttpClient, HttpNetworkError, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http.js';
export { isRetryable, requestNeverSent, retryDelay, type RetryPolicy, type TryOutcome } from './retry.js';

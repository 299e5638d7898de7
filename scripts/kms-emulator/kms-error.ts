/**
 * AWS-shaped errors of the emulator. AWS JSON 1.1 services answer a failure with an HTTP status
 * and a body `{"__type": "<Code>", "message": "..."}`; the SDK turns `__type` into the thrown
 * exception's `name`, so these codes are what the client under test actually sees.
 */
export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const notFound = (keyId: string): KmsError => new KmsError('NotFoundException', `Key '${keyId}' does not exist`);
export const validation = (message: string): KmsError => new KmsError('ValidationException', message);
export const invalidState = (message: string): KmsError => new KmsError('KMSInvalidStateException', message);

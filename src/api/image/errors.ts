/** Errors of the image API that the project's common set does not have, with the statuses Glance uses. */
import { StratusError, registerError } from '../../common/errors.ts';

/** Image data above `[image] image_size_cap`, or too many properties or tags. */
export class RequestEntityTooLarge extends StratusError {
  override readonly status = 413;
}

/** A body in a media type the route does not take (a PATCH that is not a JSON patch, an upload that is not octet-stream). */
export class UnsupportedMediaType extends StratusError {
  override readonly status = 415;
}

/** The image was deleted while its data was being uploaded. */
export class Gone extends StratusError {
  override readonly status = 410;
}

registerError(RequestEntityTooLarge);
registerError(UnsupportedMediaType);
registerError(Gone);

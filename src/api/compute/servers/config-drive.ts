/**
 * Whether a new server gets a config drive (Nova's configdrive.required_by): when its create asked for
 * one (`config_drive`), when the operator gives every server one (`[DEFAULT] force_config_drive`), or when
 * its image insists (`img_config_drive=mandatory`). Nova records the outcome in the instance once the
 * compute host builds it; Stratus records it at create, so the server body says so from the start. The
 * column holds what Nova's does: 'True', or '' for none.
 */
import type { Config } from '../../../common/config/load-config.ts';
import type { ImageSummary } from '../image-lookup.ts';
import { boolFromString } from '../validate.ts';

export function configDriveColumn(
  requested: boolean | string | undefined,
  image: Pick<ImageSummary, 'properties'>,
  config: Config,
): 'True' | '' {
  const asked = requested !== undefined && boolFromString(requested);
  const mandatory = image.properties['img_config_drive'] === 'mandatory';
  return asked || config.DEFAULT.force_config_drive || mandatory ? 'True' : '';
}

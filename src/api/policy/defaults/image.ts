/**
 * The Image API's rules: Glance's names (glance/policies) for what Stratus serves, with defaults that
 * keep Glance's meaning: the owner project (`%(owner)s`) or an admin changes an image, anyone reads
 * public and community ones, only an admin publicizes an image or downloads a deactivated one.
 */
import type { RuleDefault } from '../../../common/policy/types.ts';

const OWNER = 'rule:context_is_admin or project_id:%(owner)s';

export const IMAGE_RULES: readonly RuleDefault[] = [
  ['default', '', 'Image: any rule the file does not name'],
  ['add_image', 'rule:context_is_admin or project_id:%(owner)s', 'POST /v2/images'],
  ['get_image', `${OWNER} or 'public':%(visibility)s or 'community':%(visibility)s`, 'GET /v2/images/{image_id}'],
  ['get_images', '', 'GET /v2/images'],
  ['modify_image', OWNER, 'PATCH /v2/images/{image_id}'],
  ['publicize_image', 'rule:context_is_admin', "PATCH or POST setting visibility 'public'"],
  ['delete_image', OWNER, 'DELETE /v2/images/{image_id}'],
  ['upload_image', OWNER, 'PUT /v2/images/{image_id}/file'],
  [
    'download_image',
    `${OWNER} or 'public':%(visibility)s or 'community':%(visibility)s`,
    'GET /v2/images/{image_id}/file',
  ],
];

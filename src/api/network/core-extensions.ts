/**
 * Extensions that describe how the API as a whole behaves rather than one resource: every list answers
 * with paging links and takes sort keys, and every resource carries Neutron's standard attributes.
 */
import type { NetworkApiModule } from './module.ts';

export const coreExtensionsModule: NetworkApiModule = {
  resources: [],
  extensions: [
    {
      alias: 'pagination',
      name: 'Pagination support',
      description: 'Lists page with limit, marker and page_reverse, and link to the next and previous pages.',
      updated: '2016-06-12T00:00:00-00:00',
    },
    {
      alias: 'sorting',
      name: 'Sorting support',
      description: 'Lists sort by sort_key and sort_dir.',
      updated: '2016-06-12T00:00:00-00:00',
    },
    {
      alias: 'project-id',
      name: 'project_id field enabled',
      description: 'Resources carry project_id beside tenant_id.',
      updated: '2016-09-09T09:09:09-09:09',
    },
    {
      alias: 'standard-attr-description',
      name: 'standard-attr-description',
      description: 'Resources carry a free-form description.',
      updated: '2016-02-10T10:00:00-00:00',
    },
    {
      alias: 'standard-attr-timestamp',
      name: 'Resource timestamps',
      description: 'Resources carry created_at and updated_at.',
      updated: '2016-09-12T10:00:00-00:00',
    },
    {
      alias: 'standard-attr-revisions',
      name: 'Resource revision numbers',
      description: 'Resources carry a revision_number bumped by each change.',
      updated: '2016-04-11T10:00:00-00:00',
    },
  ],
  register: () => {},
};

import type { ApiOf, tagsMethods } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { categoryProblem } from '../tags/categoryRules.js';
import type { TagService } from '../tags/tagService.js';
import type { IndexRegistry } from './indexRegistry.js';

/** The tags slice of the contract (contract/tags.ts): stored per SAE hash in the index and app-wide. */
export function tagsDomain(indexes: IndexRegistry, tags: TagService): ApiOf<typeof tagsMethods> {
  return {
    async featureTags({ indexId, feature }) {
      return tags.get(indexes.reader(indexId), feature);
    },
    async editTags(edit) {
      const reader = indexes.reader(edit.indexId);
      const problem = categoryProblem(reader.config.kind ?? 'images', edit.category);
      if (problem) throw new StudioError('bad-request', problem);
      return tags.edit(reader, edit);
    },
    async restoreTags({ indexId, records }) {
      return tags.restore(indexes.reader(indexId), records);
    },
    async tagOverview({ indexId }) {
      return tags.overview(indexes.reader(indexId));
    },
    async exportTags({ indexId, format }) {
      return tags.export(indexes.reader(indexId), format);
    },
    async importTags(args) {
      return tags.import(indexes.reader(args.indexId), args);
    },
    async suggestCategory({ indexId, feature }) {
      return tags.suggest(indexes.reader(indexId), feature);
    },
    async tagAgreement({ indexId }) {
      return tags.agreement(indexes.reader(indexId));
    },
    async noteAuthor() {
      return tags.author();
    },
    async setNoteAuthor({ author }) {
      return tags.setAuthor(author);
    },
  };
}

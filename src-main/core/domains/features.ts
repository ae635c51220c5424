import type { ApiOf, featuresMethods } from '../../contract/index.js';
import type { AnalysisService } from '../analysis/analysisService.js';
import { itemDetail } from '../analysis/itemDetail.js';
import { categoryNamed, searchFeatures } from '../store/featureSearch.js';
import { listItems } from '../store/itemList.js';
import type { IndexRegistry } from './indexRegistry.js';

/** The features slice of the contract (contract/features.ts): reads of one open index. */
export function featuresDomain(indexes: IndexRegistry, analysis: AnalysisService): ApiOf<typeof featuresMethods> {
  return {
    async queryFeatures(q) {
      return indexes.reader(q.indexId).queryFeatures(q);
    },
    async featureDetail({ indexId, feature }) {
      return indexes.reader(indexId).featureDetail(feature);
    },
    async scatter({ indexId }) {
      return indexes.reader(indexId).scatter();
    },
    async listItems(args) {
      return listItems(indexes.reader(args.indexId), args);
    },
    // The item page's maps come from the patch query engine in the analysis worker, the same path
    // as `studio query`.
    itemDetail(args) {
      return itemDetail(indexes.reader(args.indexId), args, analysis);
    },
    // A category word asks the suggestion rule about every feature: that scan runs in the
    // analysis worker (kept per index), off the host's event loop.
    async searchFeatures(args) {
      const reader = indexes.reader(args.indexId);
      const suggested = categoryNamed(args.text) ? await analysis.suggestedCategories(args.indexId) : undefined;
      return searchFeatures(reader, args, suggested);
    },
  };
}

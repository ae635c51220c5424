// From what the views hold (feature details, clip panes) to figure inputs. Thumbnails are read
// here, through the client's URLs, so the builders receive only data: URIs.

import { featureName, type FeatureDetail, type IndexSummary } from '@contract';
import { thumbnailDataUrls } from './browser';
import type { FigureItem, GridFigureInput, HeatmapStyle } from './figures';

/** The parts of an index summary a figure cites. */
export type FigureIndex = Pick<IndexSummary, 'name' | 'dataset'>;

/** The exemplars of a detail as figure items, given their thumbnails (same order). */
function figureItemsOf(detail: FeatureDetail, thumbnails: readonly (string | null)[]): FigureItem[] {
  return detail.exemplars.map((e, i) => ({
    rank: e.rank,
    value: e.value,
    label: e.label,
    item: e.item,
    thumbnail: thumbnails[i] ?? null,
    patchMap: e.patchMap,
  }));
}

/** A grid figure's input for a detail, reading its thumbnails through `thumbnailUrl`. */
export async function gridInputFor(
  detail: FeatureDetail,
  index: FigureIndex,
  thumbnailUrl: (indexId: string, itemId: number) => string,
  style: HeatmapStyle = {},
): Promise<GridFigureInput> {
  const thumbs = await thumbnailDataUrls(detail.exemplars.map((e) => thumbnailUrl(detail.indexId, e.itemId)));
  return {
    featureId: featureName(index.name, detail.row.feature),
    indexName: index.name,
    dataset: index.dataset,
    grid: detail.grid,
    upper: detail.upper,
    items: figureItemsOf(detail, thumbs),
    ...style,
  };
}

import { useRouter } from 'vue-router';
import { useIndexStore } from '../stores/index';

/** Opens an index folder and, when it opens, shows its feature table. */
export function useOpenIndex(): (path: string) => Promise<boolean> {
  const router = useRouter();
  const index = useIndexStore();
  return async (path: string) => {
    const summary = await index.openPath(path.trim());
    if (!summary) return false;
    await router.push({ name: 'features', params: { indexId: summary.id } });
    return true;
  };
}

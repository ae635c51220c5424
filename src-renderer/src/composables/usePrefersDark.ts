import { onBeforeUnmount, ref, type Ref } from 'vue';

/** Whether the system theme is dark; canvases redraw with it since they cannot use CSS variables. */
export function usePrefersDark(): Ref<boolean> {
  const query = window.matchMedia('(prefers-color-scheme: dark)');
  const dark = ref(query.matches);
  const update = (e: MediaQueryListEvent) => (dark.value = e.matches);
  query.addEventListener('change', update);
  onBeforeUnmount(() => query.removeEventListener('change', update));
  return dark;
}

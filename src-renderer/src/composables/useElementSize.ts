import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** Content-box size of an element, kept current with a ResizeObserver. */
export function useElementSize(target: Ref<HTMLElement | null>): { width: Ref<number>; height: Ref<number> } {
  const width = ref(0);
  const height = ref(0);
  let observer: ResizeObserver | null = null;
  onMounted(() => {
    observer = new ResizeObserver((entries) => {
      const box = entries[0]?.contentRect;
      if (!box) return;
      width.value = Math.floor(box.width);
      height.value = Math.floor(box.height);
    });
    if (target.value) observer.observe(target.value);
  });
  onBeforeUnmount(() => observer?.disconnect());
  return { width, height };
}

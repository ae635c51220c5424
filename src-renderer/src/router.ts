import { createRouter, createWebHashHistory, type Router, type RouterHistory } from 'vue-router';

// The two views a session lives in: the feature table and a feature's page. Their code is
// fetched once the first view has shown (preloadMainViews), so the first click on a feature does
// not wait for its module (about 50 ms of the first feature page before).
const featuresView = () => import('./views/FeaturesView.vue');
const featureView = () => import('./views/FeatureView.vue');

// Hash history: the Electron build loads index.html from a file, where path URLs cannot work.
export function createStudioRouter(history: RouterHistory = createWebHashHistory()): Router {
  const router = createRouter({
    history,
    routes: [
      { path: '/', name: 'welcome', component: () => import('./views/WelcomeView.vue') },
      { path: '/index/:indexId', redirect: (to) => ({ name: 'features', params: to.params }) },
      { path: '/index/:indexId/features', name: 'features', component: featuresView },
      { path: '/index/:indexId/feature/:feature', name: 'feature', component: featureView },
      { path: '/index/:indexId/item/:item', name: 'item', component: () => import('./views/ItemView.vue') },
      { path: '/index/:indexId/skipped', name: 'skipped', component: () => import('./views/SkippedView.vue') },
      { path: '/index/:indexId/match', name: 'match', component: () => import('./views/MatchView.vue') },
      { path: '/index/:indexId/query', name: 'query', component: () => import('./views/QueryView.vue') },
      { path: '/index/:indexId/flicker', name: 'flicker', component: () => import('./views/FlickerView.vue') },
      { path: '/index/:indexId/intervene', name: 'intervene', component: () => import('./views/InterveneView.vue') },
      { path: '/:unknown(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
    ],
  });
  void router.isReady().then(() => {
    const idle = globalThis.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 200));
    idle(() => void Promise.all([featuresView(), featureView()]).catch(() => undefined));
  });
  return router;
}

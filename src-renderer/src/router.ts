import { createRouter, createWebHashHistory, type Router, type RouterHistory } from 'vue-router';

// Hash history: the Electron build loads index.html from a file, where path URLs cannot work.
export function createStudioRouter(history: RouterHistory = createWebHashHistory()): Router {
  return createRouter({
    history,
    routes: [
      { path: '/', name: 'welcome', component: () => import('./views/WelcomeView.vue') },
      { path: '/index/:indexId', redirect: (to) => ({ name: 'features', params: to.params }) },
      { path: '/index/:indexId/features', name: 'features', component: () => import('./views/FeaturesView.vue') },
      { path: '/index/:indexId/feature/:feature', name: 'feature', component: () => import('./views/FeatureView.vue') },
      { path: '/index/:indexId/item/:item', name: 'item', component: () => import('./views/ItemView.vue') },
      { path: '/index/:indexId/skipped', name: 'skipped', component: () => import('./views/SkippedView.vue') },
      { path: '/index/:indexId/match', name: 'match', component: () => import('./views/MatchView.vue') },
      { path: '/index/:indexId/query', name: 'query', component: () => import('./views/QueryView.vue') },
      { path: '/index/:indexId/flicker', name: 'flicker', component: () => import('./views/FlickerView.vue') },
      { path: '/index/:indexId/intervene', name: 'intervene', component: () => import('./views/InterveneView.vue') },
      { path: '/:unknown(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
    ],
  });
}

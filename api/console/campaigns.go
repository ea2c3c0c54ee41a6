package console

import "github.com/gin-gonic/gin"

// Campaigns is what the campaigns pages need.
type Campaigns struct{}

// campaignRoutes adds the campaigns pages to g.
func (k *Console) campaignRoutes(g *gin.RouterGroup) {}
